"""Metrics of generated clips, one module per paper metric.

* :mod:`.trackap` - TrackAP (YouTube-VIS video AP on boxes, exact to ``ytvoseval``).
* :mod:`.sot` - single-object tracking: OPE Success / Precision / Norm. precision, GOT-10k AO / SR.
* :mod:`.hota` - HOTA, MOTA, IDF1 through TrackEval.
* :mod:`.frechet`, :mod:`.i3d`, :mod:`.fvd` - FVD with a local I3D.
* :mod:`.identity` - appearance drift inside boxes and ID switches of a tracker's output.
* :mod:`.report` - tables as Markdown + JSON.

Submodules are imported on use: TrackEval and torch are heavy and most callers need one metric.
"""
