"""The seeded synthetic MOT world: the embedded default data set.

Shapes with a per-instance colour and texture move smoothly over simple backgrounds, cross and
occlude each other, leave the frame and come back; annotations are exact. ``write_world``
renders train and val splits in the split-directory layout the clip loader reads.
"""

from .config import WorldConfig
from .render import ObjectPlan, RenderedClip, SyntheticWorld
from .shapes import SHAPES, TEXTURES
from .writer import write_world

__all__ = ["SHAPES", "TEXTURES", "ObjectPlan", "RenderedClip", "SyntheticWorld", "WorldConfig", "write_world"]
