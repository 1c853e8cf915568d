"""``trackdiffusion app``: the shipped checkpoint and tracker by default, localhost, the given port."""

import pytest
from typer.testing import CliRunner

import trackdiffusion.webapp
from trackdiffusion.assets import DEFAULT_CHECKPOINT, DEFAULT_TRACKER
from trackdiffusion.cli.main import app


@pytest.mark.parametrize("args, tracker", [([], DEFAULT_TRACKER), (["--no-tracker"], None)])
def test_app_serves_the_shipped_models_on_localhost(monkeypatch, args, tracker):
    calls = []
    monkeypatch.setattr(trackdiffusion.webapp, "serve", lambda *a: calls.append(a))
    result = CliRunner().invoke(app, ["app", "--port", "7999", *args])
    assert result.exit_code == 0, result.output
    assert calls == [(DEFAULT_CHECKPOINT, tracker, "127.0.0.1", 7999)]
