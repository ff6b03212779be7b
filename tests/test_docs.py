"""The docs say what the code does: the design notes list every module, and the README's table of
settings is the one finder/config.py declares."""

import re

from finder.config import PROJECT_ROOT, markdown_table

PACKAGES = ("finder", "app", "indexer")


def design_module_list() -> dict[str, set[str]]:
    """The modules docs/design.md lists under each package, from its "pieces" block."""
    design = (PROJECT_ROOT / "docs" / "design.md").read_text()
    block = design.split("## The pieces", 1)[1].split("```")[1]
    listed: dict[str, set[str]] = {}
    package = None
    for line in block.splitlines():
        folder = re.match(r"^(\w+)/\s", line)
        if folder:
            package = folder.group(1)
            listed[package] = set()
        module = re.match(r"^  (\w+\.py)\b", line)
        if module and package:
            listed[package].add(module.group(1))
    return listed


def test_the_design_notes_list_every_module():
    listed = design_module_list()
    for package in PACKAGES:
        modules = {path.name for path in (PROJECT_ROOT / package).glob("*.py")} - {"__init__.py"}
        if package == "app":
            modules.add("__init__.py")  # create_app lives there
        missing = modules - listed.get(package, set())
        assert not missing, f"docs/design.md does not list {package}/{', '.join(sorted(missing))}"
        gone = listed.get(package, set()) - modules - {"__init__.py"}
        assert not gone, f"docs/design.md lists modules that do not exist: {package}/{', '.join(sorted(gone))}"


def test_the_readme_settings_table_is_the_declared_one():
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert markdown_table() in readme, "README.md's settings table is stale: paste `python -m finder.config`"


def test_the_readme_names_every_blueprint(app):
    readme = (PROJECT_ROOT / "README.md").read_text()
    for name in app.blueprints:
        assert f"`{name}`" in readme, name
