"""``torch.compile(unet, fullgraph=True)`` captures a conditioned step as one graph.

``fullgraph=True`` turns every graph break into an error, and reading a tensor's value on the
host (``bool(mask.any())``, ``int(slots.max())``) is one: the same host synchronisations stall
CUDA and prevent CUDA graphs. The ``eager`` backend checks the capture without compiling kernels
(inductor needs a C++ toolchain and minutes on this CPU); tracing took 28-44 s on the 2-core CPU, hence slow.
"""

from __future__ import annotations

import pytest
import torch

from ..conftest import DEVICES
from .conftest import make_inputs, make_unet, open_gates


@pytest.mark.slow
@pytest.mark.parametrize("device", DEVICES)
def test_conditioned_step_traces_as_one_graph(device):
    torch._dynamo.reset()
    model = open_gates(make_unet(box_attention=True, enhancer_placement="both", instance_map_channels=4)).to(device)
    x = make_inputs(model=model)
    x["present"][0, 1] = False  # a frame without any instance: the empty-row path of the attention
    x = {k: v.to(device) for k, v in x.items()}
    with torch.no_grad():
        ref = model(**x).sample
        out = torch.compile(model, fullgraph=True, backend="eager")(**x).sample
        assert torch.equal(out, ref)
        if device == "cuda":  # on a GPU also compile the kernels (inductor + triton); they reorder sums
            fast = torch.compile(model, fullgraph=True)(**x).sample
            assert (fast - ref).abs().max() <= 1e-3 * ref.abs().max()
