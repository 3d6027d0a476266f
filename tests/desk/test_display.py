"""Before Qt starts: the libraries its platform plugin loads are there, or one line says what to install."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from affcurate.errors import AffcurateError
from affcurate.workspace import Workspace
from annotator_gui.display import XCB_LIBRARIES, check_qt_libraries, missing

ABSENT = {"libaffcurate-absent.so.0": "libaffcurate-absent0"}
"""A library no system has."""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the check is for Linux desktops")
def test_a_missing_library_is_named_with_its_package_in_one_line():
    with pytest.raises(AffcurateError) as e:
        check_qt_libraries({"QT_QPA_PLATFORM": "xcb"}, xcb={**XCB_LIBRARIES, **ABSENT})
    msg = str(e.value)
    assert "\n" not in msg
    assert "libaffcurate-absent.so.0" in msg
    assert "sudo apt install " in msg and "libaffcurate-absent0`" in msg
    for soname, package in XCB_LIBRARIES.items():  # the real ones are named only when missing
        assert (soname in msg) == (soname in missing(XCB_LIBRARIES)) and (package in msg) == (soname in msg)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the check is for Linux desktops")
def test_only_the_plugin_qt_will_load_is_checked():
    for env in ({"QT_QPA_PLATFORM": "xcb"}, {"DISPLAY": ":0"}, {"QT_QPA_PLATFORM": "xcb:dpi=96"}):
        with pytest.raises(AffcurateError, match="libaffcurate-absent0"):
            check_qt_libraries(env, xcb=ABSENT)
    for env in ({"QT_QPA_PLATFORM": "offscreen"}, {"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"},
                {"QT_QPA_PLATFORM": "wayland"}):
        check_qt_libraries(env, xcb=ABSENT)  # the X11 plugin is not loaded
    with pytest.raises(AffcurateError, match="libaffcurate-absent0"):  # Qt's GUI module loads it on any platform
        check_qt_libraries({"QT_QPA_PLATFORM": "offscreen"}, gui=ABSENT, xcb={})
    check_qt_libraries({"QT_QPA_PLATFORM": "offscreen"})  # this machine runs the desk offscreen


@pytest.mark.skipif(not sys.platform.startswith("linux") or not missing(XCB_LIBRARIES),
                    reason="needs a system without some of the X11 plugin's libraries")
def test_the_command_names_the_packages_instead_of_qt_s_plugin_error(ws: Workspace):
    env = dict(os.environ, QT_QPA_PLATFORM="xcb", DISPLAY=":97")
    res = subprocess.run([sys.executable, "-m", "affcurate", "annotate", str(ws.root), "--annotator", "gina"],
                         env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    line = " ".join(res.stderr.split())
    assert "could not load the Qt platform plugin" not in res.stderr
    assert "sudo apt install " + " ".join(missing(XCB_LIBRARIES).values()) in line
