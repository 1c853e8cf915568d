"""``synth`` and ``show``: make the synthetic world and draw tracklets."""
