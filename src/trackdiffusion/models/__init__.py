"""TrackDiffusion models: conditioning modules (paper Eq. 3-8) and the 3D UNet."""

from .roi_align import roi_align
from .unet import TRACK_MODULES, TrackDiffusionUNet, is_track_parameter
from .variants import SIZES, VARIANTS, unet_config

__all__ = ["SIZES", "TRACK_MODULES", "TrackDiffusionUNet", "VARIANTS", "is_track_parameter", "roi_align", "unet_config"]
