"""Small inputs laid out exactly like the datasets of the recipes in pipelines/, made from the real sample media.

Each builder writes, under a folder it is given, what a researcher holding that dataset would point the recipe
at (the videos or frames, the video list, the label files in the dataset's own layout) and returns a
:class:`Shape`: the ``--var`` values of the recipe's header and what the curated workspace should hold.
The clips are short cuts of the sample videos (different stretches, some mirrored) so that no two are the same
file; the 68 landmarks that AFEW-VA and AffectNet ship are made from the detector's five points on the real
frames, as tests/faces/test_given_faces.py does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from affcurate.faces.detectors import make_detector

NTSC_FILM = Fraction(24000, 1001)  # WolfgangLanger_Pexels.mp4's own rate: a real 24 -> 30 fps case
SEED_AUS = ("AU1", "AU2", "AU4", "AU6", "AU12", "AU15", "AU20", "AU25")  # seeds 001 and 003
SEVEN = ("Neutral", "Anger", "Disgust", "Fear", "Happiness", "Sadness", "Surprise")


@dataclass
class Shape:
    """A dataset stand-in: the recipe's variables, and what its curation should end with."""

    vars: dict[str, Path]
    videos: set[str]
    """Video ids that should carry labels in labels.parquet."""
    subjects: dict[str, str] = field(default_factory=dict)
    """Video id -> the subject the dataset names (list column or AFEW-VA actor)."""

    def argv(self) -> list[str]:
        return [a for k, v in self.vars.items() for a in ("--var", f"{k}={v}")]


# ---- media --------------------------------------------------------------------------------------------------

def frames(src: Path, start: int, n: int, *, flip: bool = False) -> list[np.ndarray]:
    """RGB frames ``start`` … ``start + n - 1`` of a sample video (mirrored with ``flip``)."""
    out = []
    with av.open(str(src)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i >= start:
                rgb = f.to_ndarray(format="rgb24")
                out.append(np.ascontiguousarray(rgb[:, ::-1]) if flip else rgb)
            if len(out) == n:
                break
    if len(out) < n:
        raise ValueError(f"{src.name} has fewer than {start + n} frames")
    return out


def encode(pictures: list[np.ndarray], dest: Path, rate: Fraction | int = 30) -> Path:
    """An H.264 mp4 of the pictures at a constant ``rate``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    h, w = pictures[0].shape[:2]
    with av.open(str(dest), "w") as c:
        s = c.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = w - w % 2, h - h % 2, "yuv420p"
        s.options = {"preset": "ultrafast", "crf": "20"}
        for p in pictures:
            for packet in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(p[: s.height, : s.width]),
                                                              format="rgb24")):
                c.mux(packet)
        for packet in s.encode():
            c.mux(packet)
    return dest


def cut(samples: Path, name: str, start: int, n: int, dest: Path, *, rate: Fraction | int = 30,
        flip: bool = False) -> Path:
    return encode(frames(samples / name, start, n, flip=flip), dest, rate)


def duo(samples: Path, dest: Path, n: int) -> Path:
    """A real two-person video: the man of single_face.mp4 on the left, the woman of the Pexels clip right."""
    half = (320, 360)
    left = [cv2.resize(f, half, interpolation=cv2.INTER_AREA) for f in frames(samples / "single_face.mp4", 0, n)]
    right = [cv2.resize(f, half, interpolation=cv2.INTER_AREA)
             for f in frames(samples / "WolfgangLanger_Pexels.mp4", 60, n)]
    return encode([np.hstack([a, b]) for a, b in zip(left, right, strict=True)], dest)


def grid_frames(path: Path, fps: float = 30.0) -> int:
    """Frames of the 30 fps version of a video: what an annotator of the curated videos labels."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        times = [float(f.pts * f.time_base) for f in c.decode(s)]
        step = times[-1] - times[-2] if len(times) > 1 else 1 / fps
    return int(round((times[-1] - times[0] + step) * fps))


def source_frames(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


# ---- label values -------------------------------------------------------------------------------------------

def wave(n: int, seed: int, centre: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """A smooth (valence, arousal) trace of ``n`` frames around ``centre``, inside [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 30
    out = np.stack([centre[0] + 0.3 * np.sin(2 * np.pi * (0.4 + rng.random()) * t + rng.random() * 6),
                    centre[1] + 0.3 * np.cos(2 * np.pi * (0.3 + rng.random()) * t + rng.random() * 6)], 1)
    return np.clip(out, -1, 1)


def au_runs(n: int, seed: int, aus: tuple[str, ...] = SEED_AUS, rate: float = 0.12) -> np.ndarray:
    """0/1 per frame and AU in runs of a few frames, each AU present on about ``rate`` of the frames (so that
    about 60 % of the frames have at least one AU, as in seed 001)."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, len(aus)), np.int64)
    for j in range(len(aus)):
        f = 0
        while f < n:
            length = int(rng.integers(4, 12))
            out[f: f + length, j] = rng.random() < rate
            f += length
    return out


def expr_runs(n: int, seed: int) -> np.ndarray:
    """A class index (of the seven) per frame, in runs of about a third of a second or more."""
    rng = np.random.default_rng(seed)
    out = np.zeros(n, np.int64)
    f = 0
    while f < n:
        length = int(rng.integers(10, 25))
        out[f: f + length] = rng.integers(0, len(SEVEN))
        f += length
    return out


def own_csv(path: Path, n: int, *, au: np.ndarray | None = None, expr: np.ndarray | None = None,
            va: np.ndarray | None = None, aus: tuple[str, ...] = SEED_AUS) -> Path:
    """affcurate's per-annotator CSV (seed 001's layout): frame, then each AU's presence and intensity, then
    expr (the class name) and valence,arousal."""
    head = ["frame"]
    if au is not None:
        head += [c for a in aus for c in (a, f"{a}_intensity")]
    if expr is not None:
        head.append("expr")
    if va is not None:
        head += ["valence", "arousal"]
    lines = [",".join(head)]
    for f in range(n):
        row = [str(f)]
        if au is not None:
            row += [c for v in au[f] for c in (str(int(v)), str(2 + f % 3 if v else 0))]
        if expr is not None:
            row.append(SEVEN[int(expr[f])])
        if va is not None:
            row += [f"{va[f, 0]:.3f}", f"{va[f, 1]:.3f}"]
        lines.append(",".join(row))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


def abaw_va(path: Path, va: np.ndarray, unusable: slice | None = None) -> Path:
    """An ABAW VA file: header, one line per source frame, -5 on frames the raters could not use."""
    rows = [f"{v:.3f},{a:.3f}" for v, a in va]
    if unusable is not None:
        rows[unusable] = ["-5,-5"] * len(rows[unusable])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("valence,arousal\n" + "\n".join(rows) + "\n")
    return path


def write_list(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    path.write_text(",".join(header) + "\n" + "".join(",".join(r) + "\n" for r in rows))
    return path


# ---- seed 000: emotion folders ------------------------------------------------------------------------------

# the seed's folders, each with the centre of its clips' valence-arousal (the seed: angry about -0.57, 0.63)
EMOTION_VA = {"happy": (0.6, 0.4), "neutral": (0.0, -0.1), "angry": (-0.57, 0.63), "disgust": (-0.6, 0.3),
              "fear": (-0.5, 0.6), "sad": (-0.6, -0.4), "surprise": (0.2, 0.7)}
FOLDER_CLIPS = [  # (folder, stock clip name, sample, first frame, frames, mirrored)
    ("happy", "shutterstock_1012734", "WolfgangLanger_Pexels.mp4", 0, 30, False),
    ("happy", "shutterstock_1013355", "WolfgangLanger_Pexels.mp4", 200, 30, True),
    ("neutral", "shutterstock_1020455", "single_face.mp4", 0, 30, False),
    ("angry", "shutterstock_1031870", "WolfgangLanger_Pexels.mp4", 100, 30, False),
    ("disgust", "shutterstock_1042291", "single_face.mp4", 30, 30, True),
    ("fear", "shutterstock_1052116", "face_noface.mov", 0, 30, False),
    ("sad", "shutterstock_1061978", "WolfgangLanger_Pexels.mp4", 300, 30, False),
    ("surprise", "shutterstock_1070345", "WolfgangLanger_Pexels.mp4", 360, 30, True),
    ("surprise", "shutterstock_1071202", "single_face.mp4", 10, 30, True),
    ("neutral", "shutterstock_1022087", "WolfgangLanger_Pexels.mp4", 40, 30, True),
]


def expression_folders(samples: Path, root: Path) -> Shape:
    """Seed 000: CLIPS/<emotion>/<clip>.mp4 (one identity per clip) and a per-frame valence-arousal file per clip,
    ``VA/<clip>.csv`` (frame,valence,arousal on the clip's 30 fps frames)."""
    clips, va = root / "clips", root / "va-labels"
    ids = set()
    for i, (folder, name, sample, start, n, flip) in enumerate(FOLDER_CLIPS):
        cut(samples, sample, start, n, clips / folder / f"{name}.mp4", flip=flip)
        own_csv(va / f"{name}.csv", n, va=wave(n, i, EMOTION_VA[folder]))
        ids.add(name)
    return Shape({"CLIPS": clips, "VA": va}, ids)


# ---- seeds 001 and 003: Aff-Wild ----------------------------------------------------------------------------

AFFWILD_CLIPS = [  # (Aff-Wild video name, subject, sample, first frame, frames, rate, mirrored)
    ("105", "subject01", "WolfgangLanger_Pexels.mp4", 0, 40, NTSC_FILM, False),
    ("106", "subject02", "single_face.mp4", 0, 32, 30, False),
    ("2-30-640x360", "subject03", "WolfgangLanger_Pexels.mp4", 150, 36, 30, True),
    ("video45_1", "subject04", "single_face.mp4", 30, 28, 30, True),
    ("video45_2", "subject04", "single_face.mp4", 20, 24, 30, False),
    ("118", "subject05", "face_noface.mov", 56, 40, 30, False),  # the face leaves the picture: sky after it
    ("130", "subject06", "WolfgangLanger_Pexels.mp4", 330, 32, 30, False),
    ("video59", "subject07", "WolfgangLanger_Pexels.mp4", 250, 28, 30, True),
]
DUO = "10-60-1280x720"  # two annotated people: listed as DUO_left and DUO_right
DUO_FRAMES = 32


def affwild_videos(samples: Path, root: Path) -> tuple[Path, dict[str, int], dict[str, str]]:
    """The videos and the list (``path,video_id,subject,target``; a two-person video once per person, with its
    side); returns the list, each sample's frames on the 30 fps grid, and its subject."""
    videos = root / "videos"
    rows, grid, subjects = [], {}, {}
    for name, subject, sample, start, n, rate, flip in AFFWILD_CLIPS:
        p = cut(samples, sample, start, n, videos / f"{name}.mp4", rate=rate, flip=flip)
        rows.append([f"videos/{p.name}", name, subject, ""])
        grid[name], subjects[name] = grid_frames(p), subject
    p = duo(samples, videos / f"{DUO}.mp4", DUO_FRAMES)
    for side, subject in (("left", "subject08"), ("right", "subject09")):
        vid = f"{DUO}_{side}"
        rows.append([f"videos/{p.name}", vid, subject, side])
        grid[vid], subjects[vid] = DUO_FRAMES, subject
    listing = write_list(root / "videos.csv", ["path", "video_id", "subject", "target"], rows)
    return listing, grid, subjects


def affwild_au_va(samples: Path, root: Path) -> Shape:
    """Seed 001: the Aff-Wild videos, AU annotations made on the 30 fps videos (``au-labels/<video>.csv``,
    presence + intensity per AU) and Aff-Wild's own VA in the ABAW layout
    (``VA_Estimation_Challenge/{Train_Set,Validation_Set}/<video>.txt``, one line per source frame)."""
    listing, grid, subjects = affwild_videos(samples, root)
    au, va = root / "au-labels", root / "VA_Estimation_Challenge"
    src_frames = {name: n for name, _s, _x, _f, n, _r, _m in AFFWILD_CLIPS}
    src_frames |= {f"{DUO}_left": DUO_FRAMES, f"{DUO}_right": DUO_FRAMES}
    for i, (vid, n) in enumerate(sorted(grid.items())):
        own_csv(au / f"{vid}.csv", n, au=au_runs(n, 100 + i))
        lines = src_frames[vid] + (1 if vid == "106" else 0)  # a file one line longer than the video (seen in ABAW)
        part = "Validation_Set" if i % 3 == 2 else "Train_Set"
        abaw_va(va / part / f"{vid}.txt", wave(lines, 200 + i), slice(3, 6) if i % 2 else None)
    return Shape({"AFFWILD_LIST": listing, "AU": au, "VA": va}, set(grid), subjects)


AU_PART = {"105", "106", "2-30-640x360", "video45_1", "video45_2", "118", "130", f"{DUO}_left"}
EXPR_PART = {"106", "2-30-640x360", "video45_2", "118", "130", "video59", f"{DUO}_left", f"{DUO}_right"}


def affwild_au_expr(samples: Path, root: Path) -> Shape:
    """Seed 003: the Aff-Wild videos, one part annotated for the 8 AUs and another (overlapping) part for the
    expressions, by three annotators (``annotatorK/<video>.csv``: the AUs and/or ``expr`` per frame); the
    annotators agree on most frames and each makes calls of their own on a few."""
    listing, grid, subjects = affwild_videos(samples, root)
    out: dict[str, Path] = {"AFFWILD_LIST": listing}
    for k in (1, 2, 3):
        folder = root / f"annotator{k}"
        out[f"A{k}"] = folder
        for i, (vid, n) in enumerate(sorted(grid.items())):
            au, expr = au_runs(n, 300 + i), expr_runs(n, 400 + i)
            rng = np.random.default_rng(1000 * k + i)
            odd = rng.random(n) < 0.06  # this annotator's own calls on a few frames
            au[odd, int(rng.integers(len(SEED_AUS)))] ^= 1
            expr[odd] = (expr[odd] + k) % len(SEVEN)
            own_csv(folder / f"{vid}.csv", n, au=au if vid in AU_PART else None,
                    expr=expr if vid in EXPR_PART else None)
    return Shape(out, set(grid), subjects)


# ---- seed 004: AFEW-VA --------------------------------------------------------------------------------------

def sixty_eight(five: np.ndarray, box: np.ndarray) -> np.ndarray:
    """68 points whose eyes, nose tip and mouth corners are the detector's 5 (the rest on the box outline)."""
    x1, y1, x2, y2 = box
    t = np.linspace(0, 1, 68)
    lm = np.stack([x1 + (x2 - x1) * t, y1 + (y2 - y1) * np.abs(np.sin(np.pi * t))], 1)
    lm[36:42], lm[42:48], lm[30], lm[48], lm[54] = five[0], five[1], five[2], five[3], five[4]
    return lm


AFEW_CLIPS = [  # (clip, actor, sample, first frame, frames, mirrored)
    ("001", "Ben_Stiller", "single_face.mp4", 0, 15, False),
    ("002", "Ben_Stiller", "single_face.mp4", 40, 15, True),
    ("003", "Julia_Roberts", "WolfgangLanger_Pexels.mp4", 0, 15, False),
    ("004", "Hugh_Grant", "WolfgangLanger_Pexels.mp4", 100, 15, True),
    ("005", "Hugh_Grant", "WolfgangLanger_Pexels.mp4", 130, 12, False),
    ("006", "Emma_Thompson", "WolfgangLanger_Pexels.mp4", 200, 15, False),
    ("007", "Tom_Cruise", "face_noface.mov", 0, 15, False),
    ("008", "Kate_Winslet", "WolfgangLanger_Pexels.mp4", 300, 15, True),
    ("009", "Kate_Winslet", "single_face.mp4", 20, 12, False),
    ("010", "Sean_Penn", "WolfgangLanger_Pexels.mp4", 60, 15, False),
]


def afewva(samples: Path, root: Path) -> Shape:
    """Seed 004: ``AFEW-VA/<clip>/<frame:05d>.png`` and ``<clip>/<clip>.json`` with valence and arousal in
    -10..10 and 68 landmarks per frame, and the clip's ``actor``; the list names only the clip folders (the
    subjects come from the actors)."""
    data = root / "AFEW-VA"
    detect = make_detector("centerface")
    rows, subjects = [], {}
    for i, (clip, actor, sample, start, n, flip) in enumerate(AFEW_CLIPS):
        folder = data / clip
        folder.mkdir(parents=True)
        va = np.rint(wave(n, 500 + i) * 10).astype(int)
        annotated = {}
        for j, rgb in enumerate(frames(samples / sample, start, n, flip=flip)):
            key = f"{j:05d}"
            cv2.imwrite(str(folder / f"{key}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
            d = detect(rgb)
            k = int(np.argmax(d.scores))
            annotated[key] = {"valence": int(va[j, 0]), "arousal": int(va[j, 1]),
                              "landmarks": sixty_eight(d.landmarks[k], d.boxes[k]).round(3).tolist()}
        (folder / f"{clip}.json").write_text(json.dumps({"actor": actor, "frames": annotated, "video_id": clip}))
        rows.append([f"AFEW-VA/{clip}"])
        subjects[clip] = actor
    listing = write_list(root / "afewva.csv", ["path"], rows)
    return Shape({"AFEWVA_LIST": listing, "AFEWVA": data}, set(subjects), subjects)


# ---- seed 002: AffectNet ------------------------------------------------------------------------------------

PORTRAITS = {"0-f1-su-ph.jpg": 3, "0-f15-hao-ph.jpg": 1, "15-f13-anc-ph.jpg": 6, "45-m7-di-ph.jpg": 5,
             "single_face.jpg": 0}  # AffectNet codes: 0 Neutral 1 Happy 3 Surprise 5 Disgust 6 Anger
GROUP_CODES = [2, 4, 7, 1, 0]  # the five people of multi_face.jpg: Sad, Fear, Contempt, Happy, Neutral
VALIDATION = {2, 5, 8}  # the base pictures of validation.csv (AffectNet's validation set: seed 002's test set)
CODE_VA = {0: (0.0, 0.0), 1: (0.7, 0.4), 2: (-0.6, -0.3), 3: (0.2, 0.8), 4: (-0.5, 0.7), 5: (-0.6, 0.4),
           6: (-0.5, 0.6), 7: (-0.3, 0.2)}


def _faces_of_the_group(samples: Path) -> list[np.ndarray]:
    """Each person of multi_face.jpg in an image of their own, as AffectNet's web images are."""
    rgb = cv2.cvtColor(cv2.imread(str(samples / "multi_face.jpg")), cv2.COLOR_BGR2RGB)
    d = make_detector("centerface")(rgb)
    out = []
    for x1, y1, x2, y2 in sorted(d.boxes.tolist()):
        cx, cy, r = (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1) * 1.1
        top, left = int(max(0, cy - r)), int(max(0, cx - r))
        out.append(np.ascontiguousarray(rgb[top: int(cy + r), left: int(cx + r)]))
    return out


def affectnet(samples: Path, root: Path) -> Shape:
    """Seed 002: ``Manually_Annotated_Images/<subdir>/<hash>.jpg``, AffectNet's two lists in
    ``Manually_Annotated_file_lists/`` (``training.csv`` and ``validation.csv``: face box, 136 landmark numbers,
    expression code, valence, arousal, -2 where undefined) and a list of the images. Each base picture is there
    as itself and as a mirrored, slightly cropped copy (different files), both in the same AffectNet list."""
    base = [(cv2.cvtColor(cv2.imread(str(samples / name)), cv2.COLOR_BGR2RGB), code)
            for name, code in PORTRAITS.items()]
    base += list(zip(_faces_of_the_group(samples), GROUP_CODES, strict=True))
    detect = make_detector("centerface")
    images = root / "Manually_Annotated_Images"
    rows: dict[str, list[str]] = {"training.csv": [], "validation.csv": []}
    listing, ids = [], set()
    for i, (rgb, code) in enumerate(base):
        h, w = rgb.shape[:2]
        m = max(2, min(h, w) // 25)
        for variant, pic in enumerate((rgb, np.ascontiguousarray(rgb[m: h - m, m: w - m][:, ::-1]))):
            name = hashlib.sha1(f"{i}-{variant}".encode()).hexdigest() + ".jpg"
            sub = str(100 + 37 * i + variant)
            (images / sub).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(images / sub / name), cv2.cvtColor(pic, cv2.COLOR_RGB2BGR))
            d = detect(pic)
            k = int(np.argmax(d.scores))
            x1, y1, x2, y2 = d.boxes[k]
            lm = ";".join(f"{v:.2f}" for v in sixty_eight(d.landmarks[k], d.boxes[k]).ravel())
            v, a = CODE_VA[code]
            if variant and i % 4 == 1:
                v, a = -2, -2  # no valence-arousal for this image
            which = "validation.csv" if i in VALIDATION else "training.csv"
            rows[which].append(f"{sub}/{name},{x1:.0f},{y1:.0f},{x2 - x1:.0f},{y2 - y1:.0f},{lm},{code},{v},{a}")
            listing.append([f"Manually_Annotated_Images/{sub}/{name}"])
            ids.add(name[:-4])
    lists = root / "Manually_Annotated_file_lists"
    lists.mkdir()
    for file, lines in rows.items():
        (lists / file).write_text("subDirectory_filePath,face_x,face_y,face_width,face_height,facial_landmarks,"
                                  "expression,valence,arousal\n" + "\n".join(lines) + "\n")
    return Shape({"IMAGES": write_list(root / "images.csv", ["path"], listing), "AFFECTNET": lists}, ids)
