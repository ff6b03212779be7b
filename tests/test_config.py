import subprocess
import sys
from pathlib import Path

import pytest

from finder.config import (
    BUILTIN_IMAGE_MODELS,
    BUILTIN_TEXT_MODELS,
    PROJECT_ROOT,
    VECTOR_DATATYPES,
    ConfigError,
    Settings,
)
from finder.embeddings import BUILTIN_DIMS
from finder.schema import NUMPY_DATATYPES


def test_defaults_without_environment():
    settings = Settings.from_env({})
    assert settings.redis_url is None
    assert (settings.index_algorithm, settings.distance_metric) == ("HNSW", "COSINE")
    assert settings.vector_datatype == "FLOAT32"
    assert (settings.host, settings.port) == ("127.0.0.1", 5000)
    assert settings.catalog_path.name == "sample"


def test_values_are_parsed_and_normalised():
    settings = Settings.from_env(
        {"INDEX_ALGORITHM": "flat", "DISTANCE_METRIC": "l2", "VECTOR_DATATYPE": "float16", "HNSW_M": "32",
         "PORT": "8080", "REDIS_URL": "redis://example:6380/0", "CATALOG": "/tmp/catalog", "REDIS_TIMEOUT": "0.5"}
    )
    assert settings.index_algorithm == "FLAT"
    assert settings.distance_metric == "L2"
    assert settings.vector_datatype == "FLOAT16"
    assert settings.hnsw_m == 32
    assert settings.port == 8080
    assert settings.redis_url == "redis://example:6380/0"
    assert settings.catalog == Path("/tmp/catalog")
    assert settings.redis_timeout == 0.5


def test_blank_values_mean_default():
    assert Settings.from_env({"INDEX_ALGORITHM": "  ", "PORT": ""}) == Settings.from_env({})


@pytest.mark.parametrize(
    "variable, value, allowed",
    [
        ("INDEX_ALGORITHM", "IVF", "HNSW, FLAT"),
        ("DISTANCE_METRIC", "DOT", "COSINE, IP, L2"),
        ("VECTOR_DATATYPE", "FLOAT64", "FLOAT32, FLOAT16"),
        ("VECTOR_DATATYPE", "half", "FLOAT32, FLOAT16"),
        ("HNSW_M", "many", "2..512"),
        ("HNSW_M", "1", "2..512"),
        ("HNSW_EF_RUNTIME", "0", "1..4096"),
        ("HNSW_EF_CONSTRUCTION", "1e3", "1..4096"),
        ("PORT", "70000", "1..65535"),
        ("REDIS_URL", "localhost:6379", "redis://"),
        ("REDIS_TIMEOUT", "soon", "0.1..60.0"),
        ("WEB_WORKERS", "0", "1..64"),
    ],
)
def test_invalid_values_name_the_variable_and_the_allowed_values(variable, value, allowed):
    with pytest.raises(ConfigError) as error:
        Settings.from_env({variable: value})
    message = str(error.value)
    assert variable in message and repr(value) in message and allowed in message


def test_unknown_model_names_are_rejected(tmp_path):
    with pytest.raises(ConfigError, match="TEXT_MODEL='gpt-9'.*all-MiniLM-L6-v2"):
        Settings.from_env({"TEXT_MODEL": "gpt-9"})
    with pytest.raises(ConfigError, match="IMAGE_MODEL=.*efficientnet-lite0"):
        Settings.from_env({"IMAGE_MODEL": str(tmp_path)})  # a directory, but not a model


def test_a_local_sentence_transformers_directory_is_a_valid_model(tmp_path):
    (tmp_path / "modules.json").write_text("[]")
    assert Settings.from_env({"IMAGE_MODEL": str(tmp_path)}).image_model == str(tmp_path)


def test_overrides_are_validated_like_the_environment():
    settings = Settings.from_env({}).with_overrides(index_algorithm="flat", distance_metric=None)
    assert (settings.index_algorithm, settings.distance_metric) == ("FLAT", "COSINE")
    with pytest.raises(ConfigError, match="DISTANCE_METRIC"):
        settings.with_overrides(distance_metric="manhattan")


def test_configuration_depends_on_nothing_else_in_finder():
    probe = "import sys, finder.config; print(sorted(m for m in sys.modules if m.startswith(('finder', 'PIL'))))"
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                              cwd=PROJECT_ROOT).stdout.strip()
    assert imported == "['finder', 'finder.config']"


def test_every_builtin_model_has_a_known_vector_size():
    for name in (*BUILTIN_TEXT_MODELS, *BUILTIN_IMAGE_MODELS):
        assert BUILTIN_DIMS[name] > 0


def test_every_vector_datatype_has_a_numpy_type():
    assert set(NUMPY_DATATYPES) == set(VECTOR_DATATYPES)


def test_the_api_key_is_never_printed_with_the_settings():
    settings = Settings.from_env({"API_KEY": "a-secret-of-24-characters"})
    assert settings.api_key == "a-secret-of-24-characters"
    assert "a-secret" not in repr(settings)


def test_every_runtime_directory_under_the_default_data_dir_is_ignored_by_git():
    """Tests and `make run` write into data/; none of it may end up in a commit."""
    if not (PROJECT_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    settings = Settings.from_env({})
    runtime_dirs = [
        getattr(settings, name) for name in dir(Settings)
        if name.endswith("_dir") and isinstance(getattr(Settings, name), property)
    ]
    assert len(runtime_dirs) >= 5
    for directory in runtime_dirs:
        check = subprocess.run(["git", "check-ignore", "-q", f"{directory}/"], cwd=PROJECT_ROOT)
        assert check.returncode == 0, f"{directory} is not in .gitignore"
