"""Before Qt starts: is there a display, and does the system have the libraries Qt's platform plugin loads?

Without them Qt stops with "could not load the Qt platform plugin xcb" and a list of plugins; the desk says
instead which Debian/Ubuntu packages to install, in one line.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Mapping

from affcurate.errors import AffcurateError

GUI_LIBRARIES = {
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libdbus-1.so.3": "libdbus-1-3",
    "libX11.so.6": "libx11-6",
    "libxkbcommon.so.0": "libxkbcommon0",
}
"""Libraries Qt's GUI module needs on every platform (shared object name: Debian/Ubuntu package)."""

XCB_LIBRARIES = {
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
}
"""Libraries Qt's X11 platform plugin (xcb) needs, as its libqxcb.so and libQt6XcbQpa.so.6 link them."""


def check_display(env: Mapping[str, str] | None = None) -> None:
    """On Linux, a display to open the desk on (or a platform chosen with QT_QPA_PLATFORM)."""
    env = os.environ if env is None else env
    if (sys.platform.startswith("linux") and not env.get("QT_QPA_PLATFORM")
            and not (env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))):
        raise AffcurateError("no display to open the desk on (DISPLAY and WAYLAND_DISPLAY are unset): run it on a "
                             "desktop, or set QT_QPA_PLATFORM=offscreen to try it without one")


def uses_xcb(env: Mapping[str, str]) -> bool:
    """Will Qt start its X11 plugin: QT_QPA_PLATFORM says xcb, or says nothing outside a Wayland session."""
    platform = env.get("QT_QPA_PLATFORM", "")
    if platform:
        return platform.split(";")[0].split(":")[0] == "xcb"
    return not env.get("WAYLAND_DISPLAY")  # Qt prefers its Wayland plugin there


def missing(libraries: Mapping[str, str]) -> dict[str, str]:
    """The libraries of ``libraries`` the dynamic loader cannot load, with their packages."""
    out = {}
    for soname, package in libraries.items():
        try:
            ctypes.CDLL(soname)
        except OSError:
            out[soname] = package
    return out


def check_qt_libraries(env: Mapping[str, str] | None = None, gui: Mapping[str, str] = GUI_LIBRARIES,
                       xcb: Mapping[str, str] = XCB_LIBRARIES) -> None:
    """One line naming the packages to install when Qt's GUI module or its X11 plugin cannot load (Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    env = os.environ if env is None else env
    absent = missing(gui)
    if uses_xcb(env):
        absent.update(missing(xcb))
    if absent:
        packages = " ".join(dict.fromkeys(absent.values()))
        raise AffcurateError(f"the desk cannot start Qt: {', '.join(absent)} not found on this system; install "
                             f"them with `sudo apt install {packages}` (Debian/Ubuntu)")
