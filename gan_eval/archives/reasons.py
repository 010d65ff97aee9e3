"""Every reason a case is rejected or an input refused, and every note on an accepted case,
as ``str.format`` templates.

Messages are part of the contract (the CLI prints them, tests compare them): change them here
only on purpose. The two that list file types, ``UNSUPPORTED_FILE`` and ``NOT_AN_ARCHIVE``, are
derived from the suffix registry and live beside it in ``formats``.
"""

# --- Reasons a single case is rejected (Rejection.reason). ---
MISSING_SEQUENCE = "missing sequence {sequence} (found: {found})"
DUPLICATE_SEQUENCE = "duplicate sequence {sequence}: {first!r} and {second!r}"
SHAPE_MISMATCH = "sequences have different shapes: {shapes}"
NOT_2D = "{sequence} is not a 2D image: shape {shape}"
EMPTY_IMAGE = "{sequence} is empty: shape {shape}"
NON_FINITE = "{sequence} contains NaN or Inf"
CONSTANT_IMAGE = "{sequence} is a constant image (every pixel is {value})"
UNSUPPORTED_DTYPE = "{sequence} has unsupported dtype {dtype}"
IMAGE_TOO_LARGE = "{sequence} is {height}x{width}, larger than the {limit}-pixel limit"
DICOM_NOT_GRAYSCALE = ("{sequence} is a DICOM image with photometric interpretation {value}: only grayscale "
                       "(MONOCHROME1, MONOCHROME2) is read")
COLOUR_IMAGE = "{sequence} is a colour image (its channels differ); give one grayscale image per sequence"
DECOMPRESSES_TOO_LARGE = "{sequence} decompresses to more than {limit} bytes, more than any image within the limits"
FILE_TOO_LARGE = "{sequence} file is {size} bytes, more than the {limit} bytes any image within the limits needs"
DUPLICATE_CASE = "duplicate case id {case!r}: first seen in {first!r}"
UNREADABLE = "unreadable file: {error}"
NOT_NAMED_FORMAT = "unreadable file: not a {format} file, whatever its name says"
MASK_SHAPE_MISMATCH = "{mask} has shape {mask_shape} but the images are {image_shape}"
UNKNOWN_NAME = ("file name {stem!r} names no sequence (expected t1_arterial, t1_portal, t2 or an alias, "
                "optionally as mask_<sequence>, <sequence>_mask or mask)")
OUTSIDE_CASE_FOLDER = "image file outside a case folder: put each case's sequences in a folder named after the case"
NESTED_ARCHIVE = "nested archive: archives inside archives are never opened; unpack it and submit its contents"

# --- Notes on accepted cases (ValidationReport.notes): worth knowing, not a reason to reject. ---
MASK_INCOMPLETE = "masks given for {given} but not for {missing}"

# --- Reasons a whole input is refused (ArchiveError.reason). ---
NOT_FOUND = "no such file or folder"
CORRUPT = "corrupt archive: {error}"
ESCAPES_ROOT = "entry {entry!r} escapes the archive root"
ABSOLUTE_PATH = "entry {entry!r} is an absolute path"
SYMLINK = "entry {entry!r} is a symbolic link"
LINK_OUTSIDE = "entry {entry!r} is a symbolic link pointing outside the folder"
HARDLINK = "entry {entry!r} is a hard link"
SPECIAL_FILE = "entry {entry!r} is not a regular file or folder"
ENCRYPTED = "entry {entry!r} is encrypted"
UNSUPPORTED_COMPRESSION = "entry {entry!r} uses an unsupported compression method"
TOO_DEEP = "entry {entry!r} is nested {depth} levels deep, more than the limit of {limit}"
TOO_MANY_MEMBERS = "more than {limit} entries"
ENTRY_TOO_LARGE = "entry {entry!r} is {size} bytes uncompressed, more than the limit of {limit}"
TOTAL_TOO_LARGE = "more than {limit} bytes uncompressed in total"
ENTRY_RATIO = "entry {entry!r} expands {ratio:.0f}x, more than the limit of {limit:.0f}x (decompression bomb)"
ARCHIVE_RATIO = "archive expands {ratio:.0f}x, more than the limit of {limit:.0f}x (decompression bomb)"
TAR_METADATA_TOO_LARGE = "tar {kind} header {entry!r} declares {size} bytes, more than the limit of {limit}"
SIZE_LIE = "entry {entry!r} holds more data than its header declares"
STACK_SHAPE = "{entry!r} must be shaped (N, 3, H, W), got shape {shape}"
STACK_MASK_SHAPE = "masks shaped {mask_shape} do not match images shaped {image_shape}"
STACK_IDS = "case_ids holds {count} ids for {n} cases"
STACK_ID_NOT_TEXT = "{key}[{index}] is not a text case id (not valid UTF-8)"
STACK_KEYS = "no 'images' array and no sequence keys (found: {found})"
UNLISTABLE_FOLDER = "cannot list folder {entry!r}: {error}"
NO_CASES = "no cases found"
