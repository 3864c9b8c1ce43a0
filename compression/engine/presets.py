"""The single source of the compression presets, resize modes and dimension presets."""

from dataclasses import dataclass


@dataclass(frozen=True)
class CompressionPreset:
    key: str
    name: str
    n_colors: int
    description: str


COMPRESSION_PRESETS: tuple[CompressionPreset, ...] = (
    CompressionPreset("maximum_compression", "Maximum compression", 4, "Smallest files; posterised look."),
    CompressionPreset("high_compression", "High compression", 8, "Small files; visible banding on gradients."),
    CompressionPreset("balanced", "Balanced", 16, "A good default for illustrations and most web photos."),
    CompressionPreset("high_quality", "High quality", 64, "Photos look close to the original."),
    CompressionPreset("maximum_quality", "Maximum quality", 256, "The most colours an indexed image can hold."),
)


@dataclass(frozen=True)
class ResizeMode:
    key: str
    name: str
    description: str


RESIZE_MODES: tuple[ResizeMode, ...] = (
    ResizeMode("fit", "Fit", "Scale to fit inside the box, keeping the aspect ratio; pad only if a background colour is given."),
    ResizeMode("fill", "Fill", "Scale to cover the box, keeping the aspect ratio, then crop the centre."),
    ResizeMode("stretch", "Stretch", "Scale to exactly the box, ignoring the aspect ratio."),
    ResizeMode("crop", "Crop", "Cut the centre of the image to the box, without scaling."),
)


@dataclass(frozen=True)
class DimensionPreset:
    key: str
    name: str
    width: int
    height: int


DIMENSION_PRESETS: tuple[DimensionPreset, ...] = (
    DimensionPreset("hd", "HD", 1280, 720),
    DimensionPreset("full_hd", "Full HD", 1920, 1080),
    DimensionPreset("square_1080", "Square 1080", 1080, 1080),
    DimensionPreset("instagram_post", "Instagram post", 1080, 1350),
    DimensionPreset("instagram_story", "Instagram story", 1080, 1920),
    DimensionPreset("twitter", "Twitter", 1200, 675),
    DimensionPreset("facebook_cover", "Facebook cover", 820, 312),
    DimensionPreset("linkedin_banner", "LinkedIn banner", 1584, 396),
    DimensionPreset("thumbnail", "Thumbnail", 320, 180),
    DimensionPreset("icon", "Icon", 256, 256),
    DimensionPreset("favicon", "Favicon", 32, 32),
)

RESIZE_MODE_KEYS = tuple(mode.key for mode in RESIZE_MODES)
COLOR_SPACES = ("rgb", "oklab")
INITS = ("k-means++", "random")  # how K-Means picks its starting centres
OUTPUT_FORMATS = ("png", "webp", "gif")
MIN_COLORS = 2
MAX_COLORS = 256
