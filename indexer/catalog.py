"""Reading a catalog folder in the Kaggle "Fashion Product Images" layout.

    <catalog>/styles.csv        id,gender,masterCategory,subCategory,articleType,baseColour,
                                season,year,usage,productDisplayName
    <catalog>/images/<id>.jpg   one photo per product

Columns may also carry the product field names themselves (id, name, gender, category, ...).
Every row becomes either a valid product or a RowProblem with its line number and the reason;
one broken row never stops the rest of the catalog.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from finder.products import CLIENT_FIELDS, REQUIRED_FIELDS, Product, validation_message

STYLES_FILE = "styles.csv"
IMAGES_DIR = "images"
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")

# Kaggle column -> product field. Product field names are accepted as column names too.
KAGGLE_COLUMNS = {
    "id": "id",
    "productDisplayName": "name",
    "gender": "gender",
    "masterCategory": "category",
    "subCategory": "sub_category",
    "articleType": "article_type",
    "baseColour": "color",
    "season": "season",
    "year": "year",
    "usage": "usage",
}


class CatalogError(ValueError):
    """The catalog as a whole cannot be read (missing folder, file or columns)."""


@dataclass(frozen=True)
class CatalogRow:
    line: int
    product: Product

    @property
    def image_path(self) -> Path:
        return Path(self.product.image_path)


@dataclass(frozen=True)
class RowProblem:
    line: int
    product_id: str | None
    reason: str

    def __str__(self) -> str:
        product = f" (id {self.product_id})" if self.product_id else ""
        return f"row {self.line}{product}: {self.reason}"


def read_catalog(folder: Path, limit: int | None = None) -> tuple[list[CatalogRow], list[RowProblem]]:
    """Valid products and problem rows of the first `limit` data rows (all rows if None)."""
    folder = Path(folder).expanduser().resolve()
    styles = folder / STYLES_FILE
    if not folder.is_dir():
        raise CatalogError(f"catalog folder not found: {folder}")
    if not styles.is_file():
        raise CatalogError(f"{styles} not found: a catalog folder holds {STYLES_FILE} and {IMAGES_DIR}/<id>.jpg")
    images = _index_images(folder / IMAGES_DIR)
    rows: list[CatalogRow] = []
    problems: list[RowProblem] = []
    first_line_of: dict[str, int] = {}
    try:
        with open(styles, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            fields = _header_fields(next(reader, None), styles)
            read = 0
            for values in reader:
                if not any(cell.strip() for cell in values):
                    continue
                if limit is not None and read >= limit:
                    break
                read += 1
                line = reader.line_num
                outcome = _parse_row(line, values, fields, images, first_line_of)
                (rows if isinstance(outcome, CatalogRow) else problems).append(outcome)
    except UnicodeDecodeError as error:
        raise CatalogError(f"{styles} is not UTF-8 text (byte {error.start}): save it as UTF-8") from error
    except csv.Error as error:
        raise CatalogError(f"{styles} is not valid CSV: {error}") from error
    return rows, problems


def _index_images(images_dir: Path) -> dict[str, Path]:
    """Photo path by file stem; one directory listing instead of a stat per row. A link leading
    out of the images folder does not count: the app serves stored paths, and must only ever
    serve catalog photos."""
    if not images_dir.is_dir():
        return {}
    root = images_dir.resolve()
    found: dict[str, Path] = {}
    for path in images_dir.iterdir():
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.resolve().parent == root:
            found.setdefault(path.stem, path.resolve())
    return found


def _header_fields(header: list[str] | None, styles: Path) -> list[str | None]:
    """The product field of each column (None for columns we do not use)."""
    if not header:
        raise CatalogError(f"{styles} is empty")
    fields = []
    for column in header:
        column = column.strip()
        fields.append(KAGGLE_COLUMNS.get(column) or (column if column in CLIENT_FIELDS else None))
    missing = [name for name in REQUIRED_FIELDS if name not in fields]
    if missing:
        raise CatalogError(
            f"{styles} lacks columns for {', '.join(missing)}; expected the Kaggle header "
            + ",".join(KAGGLE_COLUMNS)
        )
    return fields


def _parse_row(
    line: int, values: list[str], fields: list[str | None], images: dict[str, Path], first_line_of: dict[str, int]
) -> CatalogRow | RowProblem:
    if len(values) > len(fields) and fields[-1] == "name":
        # The Kaggle file has unquoted commas in some product names (its last column).
        values = values[: len(fields) - 1] + [",".join(values[len(fields) - 1 :])]
    record = {field: value.strip() for field, value in zip(fields, values, strict=False) if field}
    product_id = record.get("id") or None
    if len(values) != len(fields):
        return RowProblem(line, product_id, f"expected {len(fields)} fields, found {len(values)}")
    if product_id in first_line_of:
        return RowProblem(line, product_id, f"duplicate id (first seen at row {first_line_of[product_id]})")
    year = record.get("year", "")
    try:
        record["year"] = int(float(year)) if year else None  # "2012" and "2012.0" both occur
    except (ValueError, OverflowError):
        return RowProblem(line, product_id, f"year: {year!r} is not a number")
    image = images.get(product_id or "")
    if image is None:
        return RowProblem(line, product_id, f"image not found: {IMAGES_DIR}/{product_id}.jpg")
    optional = {field: value or None for field, value in record.items() if field not in REQUIRED_FIELDS}
    try:
        product = Product(**{**record, **optional, "image_path": str(image)})
    except ValidationError as error:
        return RowProblem(line, product_id, validation_message(error))
    first_line_of[product.id] = line
    return CatalogRow(line, product)
