"""Reading catalog folders in the Kaggle layout: valid rows, and a reason for every bad one."""

import csv
import shutil

import pytest

from finder.products import SERVER_FIELDS
from indexer.catalog import CatalogError, read_catalog
from tests.support import SAMPLE_CATALOG

HEADER = "id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName"


def make_catalog(folder, lines, images=()):
    (folder / "images").mkdir(parents=True)
    (folder / "styles.csv").write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")
    source = next((SAMPLE_CATALOG / "images").glob("*.jpg"))
    for product_id in images:
        shutil.copy(source, folder / "images" / f"{product_id}.jpg")
    return folder


def test_the_shipped_sample_reads_without_problems():
    rows, problems = read_catalog(SAMPLE_CATALOG)
    with open(SAMPLE_CATALOG / "styles.csv", newline="", encoding="utf-8") as handle:
        expected = list(csv.DictReader(handle))
    assert problems == []
    assert [row.product.id for row in rows] == [record["id"] for record in expected]
    first, record = rows[0].product, expected[0]
    assert (first.name, first.gender, first.category, first.sub_category, first.article_type) == (
        record["productDisplayName"], record["gender"], record["masterCategory"],
        record["subCategory"], record["articleType"],
    )
    assert rows[0].image_path.is_file()


def test_fields_map_from_kaggle_columns(tmp_path):
    catalog = make_catalog(tmp_path, ["7,Women,Apparel,Dress,Dresses,Red,Summer,2012.0,Party,Lumen Red Dress"], ["7"])
    rows, problems = read_catalog(catalog)
    assert problems == []
    product = rows[0].product
    assert product.model_dump(exclude={"pk", *SERVER_FIELDS}) == {
        "id": "7", "name": "Lumen Red Dress", "gender": "Women", "category": "Apparel", "sub_category": "Dress",
        "article_type": "Dresses", "color": "Red", "season": "Summer", "year": 2012, "usage": "Party",
    }
    assert product.image_path == str((catalog / "images" / "7.jpg").resolve())


def test_unquoted_commas_in_the_last_column_stay_in_the_name(tmp_path):
    catalog = make_catalog(tmp_path, ["8,Men,Apparel,Topwear,Tshirts,Blue,Fall,2011,Casual,Tee, Blue, Large"], ["8"])
    rows, problems = read_catalog(catalog)
    assert problems == [] and rows[0].product.name == "Tee, Blue, Large"


def test_every_broken_row_is_reported_with_its_line_and_reason(tmp_path):
    catalog = make_catalog(
        tmp_path,
        [
            "1,Men,Apparel,Topwear,Tshirts,Blue,Fall,2011,Casual,Good Tee",        # line 2: fine
            "2,Men,Apparel,Topwear,Tshirts,Blue,Fall,2011,Casual,No Photo Tee",    # line 3: no image
            "3,Men,Apparel,Topwear,Tshirts,Blue,Fall,soon,Casual,Bad Year Tee",    # line 4: year
            "4,Men,Apparel,Topwear,Tshirts,Blue,Fall,2011,Casual,",                # line 5: no name
            "1,Men,Apparel,Topwear,Tshirts,Blue,Fall,2011,Casual,Twin Tee",        # line 6: duplicate id
            "5,Men,Apparel",                                                       # line 7: short row
            "../6,Men,Apparel,Topwear,Tshirts,Blue,Fall,2011,Casual,Path Tee",     # line 8: bad id
            "7,,Apparel,Topwear,Tshirts,Blue,Fall,2011,Casual,No Gender Tee",      # line 9: no gender
            "9,Men,Apparel,Topwear,Tshirts,,,,,Sparse Tee",                        # line 10: fine, sparse
        ],
        images=["1", "3", "4", "5", "7", "9"],
    )
    rows, problems = read_catalog(catalog)
    assert [row.product.id for row in rows] == ["1", "9"]
    assert rows[1].product.color is None and rows[1].product.year is None
    reasons = {problem.line: str(problem) for problem in problems}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9]
    assert "image not found: images/2.jpg" in reasons[3]
    assert "year" in reasons[4] and "soon" in reasons[4]
    assert "name" in reasons[5]
    assert "duplicate id (first seen at row 2)" in reasons[6]
    assert "expected 10 fields, found 3" in reasons[7]
    assert reasons[8].startswith("row 8") and "id" in reasons[8]
    assert "gender" in reasons[9]


def test_photos_linked_from_outside_the_images_folder_do_not_count(tmp_path):
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(next((SAMPLE_CATALOG / "images").glob("*.jpg")).read_bytes())
    catalog = make_catalog(tmp_path / "catalog", ["1,Men,Apparel,Topwear,Tshirts,Blue,Fall,2011,Casual,Linked Tee"])
    (catalog / "images" / "1.jpg").symlink_to(outside)
    rows, problems = read_catalog(catalog)
    assert rows == [] and "image not found" in problems[0].reason


def test_limit_reads_only_the_first_rows():
    rows, problems = read_catalog(SAMPLE_CATALOG, limit=5)
    assert len(rows) + len(problems) == 5


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda folder: None, "catalog folder not found"),
        (lambda folder: folder.mkdir(), "styles.csv not found"),
        (lambda folder: (folder.mkdir(), (folder / "styles.csv").write_text("")), "is empty"),
        (lambda folder: (folder.mkdir(), (folder / "styles.csv").write_text("id,name\n1,x\n")), "lacks columns"),
        (lambda folder: (folder.mkdir(), (folder / "styles.csv").write_bytes(HEADER.encode() + b"\n1,\xff\xfe\n")),
         "not UTF-8"),
    ],
    ids=["no-folder", "no-styles", "empty", "missing-columns", "not-utf8"],
)
def test_unreadable_catalogs_raise_a_clear_error(tmp_path, setup, message):
    folder = tmp_path / "catalog"
    setup(folder)
    with pytest.raises(CatalogError, match=message):
        read_catalog(folder)
