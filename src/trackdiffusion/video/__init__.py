"""Video and image I/O, tracklets drawn on frames, contact sheets.

Frames are ``uint8 [T, H, W, 3]`` arrays everywhere (T frames, H, W frame size).
"""

from .draw import draw_tracklets, instance_colour
from .io import (as_frames, read_frames, read_image, read_mp4, read_video, save_image, save_video,
                 write_gif, write_mp4, write_png_frames)
from .sheet import contact_sheet
from .transform import resize_crop_frames, scale_frames

__all__ = [
    "as_frames", "contact_sheet", "draw_tracklets", "instance_colour", "read_frames", "read_image",
    "read_mp4", "read_video", "resize_crop_frames", "save_image", "save_video", "scale_frames",
    "write_gif", "write_mp4", "write_png_frames",
]
