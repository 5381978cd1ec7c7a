import os
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def tandem_bin():
    build = pathlib.Path(os.environ.get("TANDEM_BUILD_DIR", ROOT / "build"))
    path = build / "cli" / "tandem"
    assert path.exists(), f"{path} missing: build first (bash scripts/build.sh)"
    return str(path)


@pytest.fixture(scope="session")
def default_model():
    home = os.environ.get("TANDEM_HOME", os.path.expanduser("~/.cache/tandem"))
    model_dir = os.environ.get("TANDEM_MODEL_DIR", os.path.join(home, "models"))
    path = os.path.join(model_dir, "SmolLM2-135M-Instruct.Q4_1.gguf")
    assert os.path.exists(path), f"{path} missing: run scripts/setup.sh"
    return path
