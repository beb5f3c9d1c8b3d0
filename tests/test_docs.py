"""Build of the Sphinx documentation, with warnings treated as errors.

The build renders every docstring of the API reference, so a broken
docstring fails this test, and it runs the examples through sphinx-gallery.
"""

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("sphinx")

DOC_DIR = Path(__file__).resolve().parent.parent / "doc"


def test_documentation_builds_without_warnings(tmp_path):
    command = [
        sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html",
        "-d", str(tmp_path / "doctrees"), str(DOC_DIR), str(tmp_path / "html"),
    ]
    completed = subprocess.run(
        command, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, (
        f"sphinx-build exited with status {completed.returncode}. Warnings and "
        f"errors:\n{completed.stderr}\nEnd of the log:\n{completed.stdout[-3000:]}"
    )
    assert (tmp_path / "html" / "index.html").is_file()
    assert (tmp_path / "html" / "auto_examples" / "index.html").is_file()
    assert (tmp_path / "html" / "generated" / "skcredit.MeanFieldClassifier.html").is_file()
