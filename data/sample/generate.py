#!/usr/bin/env python3
"""Generate the synthetic sample catalog shipped with the project.

Writes ``styles.csv`` and ``images/<id>.jpg`` next to this file, in the layout of
the Kaggle "Fashion Product Images" data set. Every product is drawn here as a
flat illustration, so the catalog carries no third-party content. The output is
deterministic: running the script twice gives byte-identical files.

Usage: python data/sample/generate.py
"""

from __future__ import annotations

import csv
import itertools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

HERE = Path(__file__).resolve().parent
SEED = 70001
FIRST_ID = 70001
SIZE = 224  # output image size
S = 2 * SIZE  # drawing size; images are drawn at 2x and downscaled
C = S // 2  # horizontal centre of the drawing

FIELDS = ["id", "gender", "masterCategory", "subCategory", "articleType",
          "baseColour", "season", "year", "usage", "productDisplayName"]

COLOURS = {
    "Black": (34, 34, 38), "White": (247, 247, 244),
    "Grey": (136, 138, 144), "Charcoal": (64, 66, 72), "Navy Blue": (32, 44, 88),
    "Blue": (40, 96, 188), "Turquoise Blue": (44, 180, 196), "Teal": (0, 120, 126),
    "Green": (46, 136, 70), "Olive": (106, 108, 54), "Red": (206, 36, 46),
    "Maroon": (120, 30, 44), "Pink": (238, 134, 172), "Magenta": (196, 38, 128),
    "Purple": (106, 54, 144), "Lavender": (186, 168, 222), "Yellow": (246, 204, 48),
    "Mustard": (214, 160, 36), "Orange": (242, 124, 36), "Peach": (250, 192, 162),
    "Beige": (226, 208, 176), "Cream": (244, 234, 210), "Khaki": (190, 174, 130),
    "Brown": (114, 72, 46), "Tan": (200, 148, 100), "Silver": (194, 196, 202),
    "Gold": (214, 176, 62),
}
ACCENTS = ("White", "Black", "Navy Blue", "Red", "Yellow", "Blue", "Green", "Cream", "Grey", "Pink")
PATTERN_WORDS = {
    "solid": "Solid", "striped": "Striped", "checked": "Checked", "polka": "Polka Dot",
    "printed": "Printed", "floral": "Floral Print", "graphic": "Graphic Print",
}
METAL = {"silver": (196, 198, 204), "gold": (212, 174, 70)}
SOLE_DARK = (44, 40, 38)


# --------------------------------------------------------------------------- colour and geometry helpers

def tone(rgb, f):
    """Scale a colour's brightness by f."""
    return tuple(max(0, min(255, round(c * f))) for c in rgb)


def blend(a, b, t):
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))


def luminance(rgb):
    return (0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]) / 255


def ink(rgb):
    """A darker (or, on dark colours, lighter) tone for seams and stitching."""
    return tone(rgb, 0.62) if luminance(rgb) > 0.22 else blend(rgb, (255, 255, 255), 0.35)


def bez(p0, p1, p2, n=12):
    """Points on a quadratic Bezier curve from p0 to p2 with control point p1."""
    return [((1 - t) ** 2 * p0[0] + 2 * (1 - t) * t * p1[0] + t * t * p2[0],
             (1 - t) ** 2 * p0[1] + 2 * (1 - t) * t * p1[1] + t * t * p2[1])
            for t in (i / n for i in range(n + 1))]


def spline(points, n=10):
    """A closed Catmull-Rom curve through the given points."""
    out = []
    k = len(points)
    for i in range(k):
        p0, p1, p2, p3 = (points[(i + j) % k] for j in (-1, 0, 1, 2))
        for s in range(n):
            t = s / n
            out.append(tuple(0.5 * (2 * b + (-a + c) * t + (2 * a - 5 * b + 4 * c - d) * t * t
                                    + (-a + 3 * b - 3 * c + d) * t ** 3)
                             for a, b, c, d in zip(p0, p1, p2, p3, strict=True)))
    return out


def sym(half):
    """Mirror a right-half outline, given as (dx, y) from top centre to bottom centre."""
    return [(C + dx, y) for dx, y in half] + [(C - dx, y) for dx, y in reversed(half)]


def mirror(points):
    return [(2 * C - x, y) for x, y in points]


def span(half):
    """A symmetric open curve, left to right, from its right half given as (dx, y) from the centre out."""
    return [(C - dx, y) for dx, y in reversed(half)] + [(C + dx, y) for dx, y in half]


def side(points, s):
    """Points as drawn on the right (s=1), or mirrored onto the left (s=-1)."""
    return points if s == 1 else mirror(points)


def hem_curve(corner, drop=12):
    """A gently curved hem from an outer corner (dx, y) to the centre line, excluding the corner."""
    return bez(corner, (corner[0] * 0.6, corner[1] + drop + 2), (0, corner[1] + drop))[1:]


def lerp(p, q, t):
    return (p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t)


def shift(points, dx=0, dy=0):
    return [(x + dx, y + dy) for x, y in points]


def rotate(points, centre, degrees):
    a = math.radians(degrees)
    ox, oy = centre
    return [(ox + (x - ox) * math.cos(a) - (y - oy) * math.sin(a), oy + (x - ox) * math.sin(a) + (y - oy) * math.cos(a))
            for x, y in points]


def polar(centre, angle, radius):
    """A point at a clock angle (radians, clockwise from 12 o'clock) around a centre."""
    return centre[0] + math.sin(angle) * radius, centre[1] - math.cos(angle) * radius


def band(p, q, width):
    """A quadrilateral of the given width starting at segment p-q and extending
    perpendicular to it (to the right of the direction p -> q)."""
    (x0, y0), (x1, y1) = p, q
    length = math.hypot(x1 - x0, y1 - y0)
    nx, ny = -(y1 - y0) / length * width, (x1 - x0) / length * width
    return [p, q, (x1 + nx, y1 + ny), (x0 + nx, y0 + ny)]


# --------------------------------------------------------------------------- patterns

def pattern(kind, base, accent, r, angle=0.0, scale=1.0):
    """A full-canvas float RGB array filled with a fabric pattern."""
    out = np.empty((S, S, 3), np.float32)
    out[:] = base
    if kind in ("solid", "graphic"):
        return out
    base, acc = np.array(base, np.float32), np.array(accent, np.float32)
    yy, xx = np.mgrid[0:S, 0:S].astype(np.float32)
    a = math.radians(angle)
    u = yy * math.cos(a) - xx * math.sin(a) + r.uniform(0, 200)  # across stripes
    v = xx * math.cos(a) + yy * math.sin(a) + r.uniform(0, 200)  # along stripes
    p = 30 * scale * r.uniform(0.85, 1.15)
    if kind == "striped":
        out[(u % p) < p * r.uniform(0.3, 0.5)] = acc
    elif kind == "checked":
        t = 0.5 * ((u % p) < p * 0.45) + 0.5 * ((v % p) < p * 0.45)
        out[:] = base + (acc - base) * t[..., None] * 0.9
        thin = (((u + p * 0.72) % p) < 2.5 * scale) | (((v + p * 0.72) % p) < 2.5 * scale)
        out[thin] = np.array(ink(tuple(int(c) for c in base)), np.float32)
    elif kind == "polka":
        q = p * 1.1
        row = np.floor(u / q)
        du = (u % q) - q / 2
        dv = ((v + (row % 2) * q / 2) % q) - q / 2
        out[du * du + dv * dv < (q * 0.2) ** 2] = acc
    elif kind == "quilted":
        q = 42 * scale
        out *= (1 + 0.10 * np.cos(2 * math.pi * (u % q) / q))[..., None]
        out[(u % q) < 3] *= 0.7
    elif kind == "mesh":
        q = 9 * scale
        du, dv = (u % q) - q / 2, (v % q) - q / 2
        out[du * du + dv * dv < (q * 0.22) ** 2] *= 0.82
    elif kind == "denim":
        noise = np.random.default_rng(r.randrange(2 ** 32)).normal(0, 7, (S, S)).astype(np.float32)
        twill = np.where((xx + yy) % 6 < 2, -9.0, 4.0).astype(np.float32)
        out += (noise + twill)[..., None]
    elif kind in ("printed", "floral"):
        img = Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))
        d = ImageDraw.Draw(img)
        second = COLOURS[r.choice(ACCENTS)]
        step = p * 1.5
        for gy in range(-1, int(S / step) + 2):
            for gx in range(-1, int(S / step) + 2):
                x = gx * step + (gy % 2) * step / 2 + r.uniform(-5, 5)
                y = gy * step + r.uniform(-5, 5)
                if kind == "floral":
                    motif_flower(d, x, y, step * 0.26, accent, second, r)
                else:
                    motif_print(d, x, y, step * 0.22, r.choice((accent, second)), r)
        out = np.asarray(img, np.float32).copy()
    return out


def motif_flower(d, x, y, size, petal, centre, r):
    turn = r.uniform(0, math.tau)
    for k in range(5):
        a = turn + k * math.tau / 5
        px, py = x + math.cos(a) * size * 0.6, y + math.sin(a) * size * 0.6
        d.ellipse((px - size * 0.45, py - size * 0.45, px + size * 0.45, py + size * 0.45), fill=petal)
    d.ellipse((x - size * 0.3, y - size * 0.3, x + size * 0.3, y + size * 0.3), fill=centre)
    lx, ly = x + size * 1.1, y + size * 0.7
    d.ellipse((lx - size * 0.35, ly - size * 0.18, lx + size * 0.35, ly + size * 0.18), fill=(52, 120, 64))


def motif_print(d, x, y, size, colour, r):
    shape = r.randrange(3)
    if shape == 0:
        d.ellipse((x - size * 0.5, y - size * 0.5, x + size * 0.5, y + size * 0.5), fill=colour)
    elif shape == 1:
        d.polygon([(x, y - size * 0.6), (x + size * 0.6, y + size * 0.4), (x - size * 0.6, y + size * 0.4)],
                  fill=colour)
    else:
        d.line([(x - size * 0.6, y + size * 0.3), (x + size * 0.6, y - size * 0.3)], fill=colour,
               width=max(3, round(size * 0.3)))


# --------------------------------------------------------------------------- canvas

class Mask:
    """A binary shape on the drawing canvas, built from polygons, ellipses and lines."""

    def __init__(self):
        self.img = Image.new("L", (S, S), 0)
        self.draw = ImageDraw.Draw(self.img)

    def poly(self, points, on=True):
        self.draw.polygon([tuple(p) for p in points], fill=255 if on else 0)
        return self

    def ellipse(self, box, on=True):
        self.draw.ellipse(box, fill=255 if on else 0)
        return self

    def rect(self, box, radius=0, on=True):
        self.draw.rounded_rectangle(box, radius=radius, fill=255 if on else 0)
        return self

    def line(self, points, width, on=True):
        self.draw.line([tuple(p) for p in points], fill=255 if on else 0, width=round(width), joint="curve")
        return self

    def within(self, other):
        """Restrict this shape to the inside of another."""
        self.img = ImageChops.multiply(self.img, other.img)
        self.draw = ImageDraw.Draw(self.img)
        return self


def lighting(mask, strength):
    """Soft studio lighting: lit from the left, a highlight band, slightly darker at the bottom."""
    ys, xs = np.nonzero(mask)
    t = (np.arange(S, dtype=np.float32) - xs.min()) / max(1, xs.max() - xs.min())
    tv = (np.arange(S, dtype=np.float32) - ys.min()) / max(1, ys.max() - ys.min())
    fx = 1 + strength * (0.06 - 0.16 * t + 0.10 * np.exp(-((t - 0.3) / 0.1) ** 2))
    fy = 1 - strength * 0.06 * tv
    return fy[:, None] * fx[None, :]


class Canvas:
    """A transparent 2x canvas that product drawings paint onto."""

    def __init__(self):
        self.img = Image.new("RGBA", (S, S), (0, 0, 0, 0))
        self.draw = ImageDraw.Draw(self.img)

    def fill(self, mask, paint, light=1.0, edge=0.58):
        """Paint a shape with a colour or pattern array, with shading and a darker outline."""
        inside = np.asarray(mask.img) > 0
        if not inside.any():
            return
        arr = np.empty((S, S, 3), np.float32)
        arr[:] = paint
        if light:
            arr *= lighting(inside, light)[..., None]
        if edge:
            core = np.asarray(mask.img.filter(ImageFilter.MinFilter(5))) > 0
            arr[inside & ~core] *= edge
        src = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).convert("RGBA")
        self.img.paste(src, (0, 0), mask.img)

    def tint(self, mask, colour, alpha, blur=0):
        """Blend a colour over what is already drawn, e.g. for highlights and fades."""
        m = mask.img.filter(ImageFilter.GaussianBlur(blur)) if blur else mask.img
        layer = Image.new("RGBA", (S, S), colour + (0,))
        layer.putalpha(m.point(lambda v: round(v * alpha)))
        kept = self.img.getchannel("A")
        self.img.alpha_composite(layer)
        self.img.putalpha(kept)

    def line(self, points, colour, width=3):
        self.draw.line([tuple(p) for p in points], fill=colour, width=round(width), joint="curve")

    def dashed(self, points, colour, width=2, dash=7, gap=5):
        """A stitching line along a polyline."""
        on, left = True, dash
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            seg = math.hypot(x1 - x0, y1 - y0)
            pos = 0.0
            while pos < seg:
                step = min(left, seg - pos)
                if on:
                    p, q = (x0, y0), (x1, y1)
                    self.draw.line([lerp(p, q, pos / seg), lerp(p, q, (pos + step) / seg)], fill=colour, width=width)
                pos += step
                left -= step
                if left <= 0:
                    on = not on
                    left = dash if on else gap

    def dot(self, xy, radius, colour, outline=None):
        x, y = xy
        self.draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour, outline=outline, width=2)


@dataclass
class Look:
    """How one product is coloured: base colour, accent, fabric pattern and style variant."""
    colour: tuple
    accent: tuple
    pattern: str
    variant: str
    r: random.Random

    def paint(self, angle=0.0, scale=1.0):
        return pattern(self.pattern, self.colour, self.accent, self.r, angle, scale)


# --------------------------------------------------------------------------- apparel: topwear

def emblem(cv, look, r, x, y, size):
    """A chest graphic for printed t-shirts and sweatshirts."""
    a, b = look.accent, COLOURS[r.choice(ACCENTS)]
    kind = r.randrange(4)
    if kind == 0:
        cv.dot((x, y), size, a)
        cv.dot((x, y), size * 0.62, look.colour)
        cv.dot((x, y), size * 0.34, b)
    elif kind == 1:
        star = [(x + math.cos(math.pi / 2 + k * math.pi / 5) * size * (1 if k % 2 == 0 else 0.45),
                 y - math.sin(math.pi / 2 + k * math.pi / 5) * size * (1 if k % 2 == 0 else 0.45)) for k in range(10)]
        cv.draw.polygon(star, fill=a)
    elif kind == 2:
        for k, colour in enumerate((a, b, a)):
            top = y - size + k * size * 0.7
            cv.draw.rounded_rectangle((x - size, top, x + size, top + size * 0.5), radius=6, fill=colour)
    else:
        cv.draw.polygon([(x, y - size), (x + size, y + size * 0.8), (x - size, y + size * 0.8)], fill=a)
        cv.draw.polygon([(x, y - size * 0.2), (x + size * 0.5, y + size * 0.8), (x - size * 0.5, y + size * 0.8)],
                        fill=b)


def neck_opening(cv, look, neck, back_drop, rib=12):
    """The inside of the back seen through a round neckline, and the rib band around it."""
    front = span(neck)
    (w, y0) = neck[-1]
    back = span(bez((0, y0 + back_drop), (w * 0.6, y0 + back_drop), (w, y0)))
    cv.fill(Mask().poly(back + front[::-1]), tone(look.colour, 0.7), light=0, edge=0.8)
    cv.line(front, tone(look.colour, 0.9), rib)
    cv.line(back, tone(look.colour, 0.82), rib - 2)


def collar_back(cv, look, width, top, bottom):
    """The inside of a collar band behind the neck."""
    cv.fill(Mask().poly(sym([(0, top), (width * 0.8, top + 6), (width, bottom - 14), (0, bottom)])),
            tone(look.colour, 0.65), light=0)


def cuffs(cv, cuff_in, cuff_out, length, paint, ribs=0, stripe=None, light=0.6, edge=0.58):
    """Cuff bands on both sleeve ends, given by the right sleeve's inner and outer (dx, y) corners."""
    for s in (1, -1):
        cuff = side(shift(band(cuff_in, cuff_out, -length), C), s)
        cv.fill(Mask().poly(cuff), paint, light=light, edge=edge)
        for k in range(1, ribs):
            cv.line([lerp(cuff[0], cuff[1], k / ribs), lerp(cuff[3], cuff[2], k / ribs)], tone(paint, 0.85), 2)
        if stripe:
            cv.line([lerp(cuff[0], cuff[3], 0.5), lerp(cuff[1], cuff[2], 0.5)], stripe, 4)


def sleeve_seams(cv, look, shoulder, pit):
    for s in (1, -1):
        cv.line(side(shift([shoulder, (shoulder[0] - 8, (shoulder[1] + pit[1]) / 2), pit], C), s), ink(look.colour), 2)


def placket(cv, look, top, bottom, buttons):
    cv.fill(Mask().rect((C - 12, top, C + 12, bottom)), look.paint(angle=90), light=0.5)
    step = (bottom - top) / (buttons + 0.5)
    for k in range(buttons):
        cv.dot((C, top + step * (k + 0.6)), 5, tone(look.colour, 0.75), outline=ink(look.colour))


def collar_leaves(cv, paint, inner, outer, tip, light=0.5):
    """Two pointed shirt-style collar leaves meeting at the centre front."""
    for s in (1, -1):
        leaf = [(2, inner), (outer[0], outer[1]), (outer[0] + 14, outer[1] + 12), (tip[0], tip[1]), (8, inner + 22)]
        cv.fill(Mask().poly(side(shift(leaf, C), s)), paint, light=light)


def draw_tshirt(cv, look, r):
    w, sl = r.uniform(-6, 6), r.uniform(-8, 8)
    depth = {"round": 106, "v": 156, "polo": 86}[look.variant]
    neck = bez((0, depth), (30, depth - 2) if look.variant == "round" else (22, depth - 30), (46, 66))
    sleeve_out, sleeve_in = (184 + w, 150 + sl), (154 + w, 198 + sl)
    body = sym(neck + [(112 + w, 86), sleeve_out, sleeve_in, (110 + w, 170), (114 + w, 398), (0, 400)])
    cv.fill(Mask().poly(body), look.paint(scale=0.9))
    neck_opening(cv, look, neck, 16)
    seam = ink(look.colour)
    sleeve_seams(cv, look, (112 + w, 86), (110 + w, 170))
    for s in (1, -1):
        cv.dashed(side(shift(band(sleeve_out, sleeve_in, 12)[2:], C), s), seam)
    cv.dashed([(C - 110 - w, 384), (C + 110 + w, 384)], seam)
    if look.variant == "polo":
        placket(cv, look, 86, 156, 2)
        collar_leaves(cv, tone(look.colour, 0.96), 80, (48, 58), (50, 122), light=1.0)
    if look.pattern == "graphic":
        emblem(cv, look, r, C + r.uniform(-4, 4), 220 + r.uniform(-6, 6), r.uniform(42, 56))


def draw_shirt(cv, look, r):
    w = r.uniform(-5, 5) + (-8 if look.variant == "slim" else 0)
    paint = look.paint(angle=90)
    shoulder, cuff_out, cuff_in, pit = (114 + w, 80), (178 + w, 332), (146 + w, 346), (112 + w, 176)
    collar_back(cv, look, 48, 30, 70)
    cv.fill(Mask().poly(sym([(0, 64), (44, 58), shoulder, cuff_out, cuff_in, pit, (112 + w, 384),
                             (96, 404), (40, 410), (0, 398)])), paint)
    cuffs(cv, cuff_in, cuff_out, 42, paint)
    sleeve_seams(cv, look, shoulder, pit)
    cv.fill(Mask().poly(shift([(28, 150), (80, 150), (80, 200), (54, 210), (28, 200)], C)), paint, light=0.4)
    placket(cv, look, 76, 400, 7)
    collar_leaves(cv, paint, 72, (46, 48), (46, 124))
    cv.dashed([(C - 110 - w, 384), (C - 96, 396), (C - 40, 402), (C, 392)], ink(look.colour))


def draw_top(cv, look, r):
    w = r.uniform(-5, 5)
    neck = bez((0, 116), (36, 112), (42, 62))
    if look.variant == "tank":
        half = neck + [(66, 58), (72, 96)] + bez((72, 96), (78, 144), (102, 150))[1:] + [(90 + w, 250)]
        corner = (114 + w, 380)
    else:
        half = neck + [(84, 66), (128 + w, 108), (108 + w, 140), (96 + w, 132), (86 + w, 250)]
        corner = (146 + w, 366) if look.variant == "peplum" else (112 + w, 382)
    cv.fill(Mask().poly(sym(half + [corner] + hem_curve(corner, 10))), look.paint(scale=0.85))
    neck_opening(cv, look, neck, 16, rib=8)
    seam = ink(look.colour)
    if look.variant == "peplum":
        cv.line([(C - 86 - w, 250), (C, 256), (C + 86 + w, 250)], seam, 3)
        for dx in (-60, -20, 20, 60):
            cv.line([(C + dx * 0.8, 262), (C + dx * 1.5, 360)], tone(look.colour, 0.85), 2)
    else:
        cv.dashed(span(shift([corner] + hem_curve(corner, 10), -6, -12)[::-1]), seam)
    for k in range(-2, 3):
        cv.line([(C + k * 8, 118), (C + k * 10, 150)], tone(look.colour, 0.85), 2)


def draw_sweatshirt(cv, look, r):
    w = r.uniform(-5, 5)
    shoulder, cuff_out, cuff_in, pit = (124 + w, 96), (192 + w, 330), (156 + w, 344), (122 + w, 192)
    neck = bez((0, 122), (34, 120), (48, 80))
    paint = look.paint(scale=0.9)
    hooded = look.variant == "hood"
    if hooded:
        cv.fill(Mask().poly(spline(shift([(-96, 120), (-102, 56), (-60, 14), (0, 4), (60, 14), (102, 56), (96, 120)],
                                         C))),
                paint)
        cv.fill(Mask().ellipse((C - 62, 40, C + 62, 128)), tone(look.colour, 0.6), light=0)
    cv.fill(Mask().poly(sym(neck + [shoulder, cuff_out, cuff_in, pit, (122 + w, 384), (0, 384)])), paint)
    if hooded:
        cv.line(span(neck), tone(look.colour, 0.85), 10)
        for s in (1, -1):
            cv.line([(C + s * 22, 120), (C + s * 26, 210)], look.accent, 5)
            cv.dot((C + s * 26, 214), 5, tone(look.accent, 0.8))
        cv.fill(Mask().poly(sym([(0, 276), (62, 276), (88, 364), (0, 364)])), paint, light=0.5)
    else:
        neck_opening(cv, look, neck, 16, rib=16)
    rib = tone(look.colour, 0.9)
    cv.fill(Mask().rect((C - 122 - w, 364, C + 122 + w, 402), radius=4), rib, light=0.6)
    for x in range(round(C - 116 - w), round(C + 118 + w), 9):
        cv.line([(x, 370), (x, 396)], tone(rib, 0.85), 2)
    cuffs(cv, cuff_in, cuff_out, 36, rib, ribs=5)
    for s in (1, -1):
        cv.line(side(shift([(40, 90), pit], C), s), ink(look.colour), 2)
    if look.pattern == "graphic":
        emblem(cv, look, r, C + r.uniform(-4, 4), 232, r.uniform(44, 56))


def draw_jacket(cv, look, r):
    w = r.uniform(-5, 5)
    shoulder, cuff_out, cuff_in, pit = (126 + w, 84), (196 + w, 338), (158 + w, 352), (124 + w, 186)
    neck = bez((0, 92), (30, 90), (46, 60))
    paint = pattern("quilted" if look.variant == "quilted" else look.pattern, look.colour, look.accent, r)
    collar_back(cv, look, 50, 34, 76)
    cv.fill(Mask().poly(sym(neck + [shoulder, cuff_out, cuff_in, pit, (124 + w, 396), (0, 396)])), paint)
    trim = tone(look.colour, 0.85)
    stripe = look.accent if look.variant == "bomber" else None
    cuffs(cv, cuff_in, cuff_out, 30, trim, stripe=stripe)
    sleeve_seams(cv, look, shoulder, pit)
    for s in (1, -1):
        cv.fill(Mask().poly(side(shift([(4, 96), (4, 66), (48, 42), (60, 50), (56, 74), (14, 100)], C), s)), trim,
                light=0.5)
        cv.line(side([(C + 44, 300), (C + 84, 240)], s), tone(look.colour, 0.5), 6)
    cv.fill(Mask().rect((C - 124 - w, 370, C + 124 + w, 404), radius=4), trim, light=0.6)
    if stripe:
        cv.line([(C - 120 - w, 386), (C + 120 + w, 386)], stripe, 4)
    zip_colour = METAL["silver"] if luminance(look.colour) < 0.6 else (80, 80, 86)
    cv.line([(C, 72), (C, 404)], tone(zip_colour, 0.7), 6)
    for y in range(76, 402, 6):
        cv.line([(C - 4, y), (C + 4, y)], zip_colour, 2)
    cv.draw.rounded_rectangle((C - 6, 88, C + 6, 122), radius=4, fill=zip_colour, outline=tone(zip_colour, 0.6),
                              width=2)


def draw_kurta(cv, look, r):
    w = r.uniform(-5, 5)
    flare = 30 if look.variant == "aline" else 0
    shoulder, cuff_out, cuff_in, pit = (100 + w, 72), (158 + w, 290), (126 + w, 300), (100 + w, 168)
    neck = bez((0, 84), (28, 82), (36, 58))
    body = Mask().poly(sym(neck + [shoulder, cuff_out, cuff_in, pit, (104 + w, 300), (120 + flare + w, 424), (0, 430)]))
    collar_back(cv, look, 38, 40, 70)
    cv.fill(body, look.paint(scale=0.8))
    trim = look.accent
    cv.fill(Mask().rect((0, 400, S, 416)).within(body), trim, light=0.4, edge=0.85)
    cuffs(cv, cuff_in, cuff_out, 14, trim, light=0.4, edge=0.85)
    for s in (1, -1):
        cv.line(side([(C + 104 + w, 330), (C + 112 + w + flare * 0.4, 424)], s), ink(look.colour), 3)
    cv.line(span(neck), trim, 10)
    cv.line([(C, 84), (C, 196)], trim, 8)
    for y in (108, 140, 172):
        cv.dot((C, y), 4, tone(look.colour, 0.7))


def draw_dress(cv, look, r):
    w = r.uniform(-6, 6)
    v = look.variant
    neck = bez((0, 110), (30, 108), (38, 62))
    if v == "shift":
        half = neck + [(90, 72), (122, 116), (102, 138), (90, 134), (96 + w, 260)]
        corner = (118 + w, 404)
    else:
        if r.random() < 0.5:
            half = neck + [(62, 62)] + bez((62, 62), (66, 110), (84, 128))[1:]
        else:
            half = neck + [(80, 66), (112, 104), (94, 130), (84, 128)]
        half += [(70, 204)]
        corner = (134 + w, 440) if v == "maxi" else (164 + w, 408)
    hem = [corner] + hem_curve(corner)
    body = Mask().poly(sym(half + hem))
    cv.fill(body, look.paint(scale=0.85))
    neck_opening(cv, look, neck, 14, rib=6)
    if v != "shift":
        cv.fill(Mask().rect((0, 196, S, 212)).within(body), tone(look.colour, 0.85), light=0.4)
        for dx in (-70, -30, 30, 70):
            cv.line([(C + dx * 0.7, 220), (C + dx * 1.7, corner[1] - 20)], tone(look.colour, 0.88), 2)
    cv.dashed(span(shift(hem, -8, -8)[::-1]), ink(look.colour))


# --------------------------------------------------------------------------- apparel: bottomwear

def legs(top, waist, hip, crotch, hem_y, hem_out, hem_in):
    """Outline of a pair of trouser legs below a waistband."""
    return sym([(0, top), (waist, top), (hip, crotch - 30), (hem_out, hem_y), (hem_in, hem_y), (0, crotch)])


def waistband(cv, look, top, waist, height=28):
    """A waistband with four belt loops, sitting on top of the legs."""
    cv.fill(Mask().rect((C - waist, top - height, C + waist, top + 2), radius=3), look.paint(), light=0.5)
    for dx in (-70, -26, 26, 70):
        x = C + dx * waist / 92
        cv.fill(Mask().rect((x - 4, top - height - 4, x + 4, top + 10), radius=2), tone(look.colour, 0.9), light=0,
                edge=0.6)


def draw_jeans(cv, look, r):
    hem_out, hem_in = {"skinny": (70, 24), "slim": (84, 22), "regular": (100, 18)}[look.variant]
    w = r.uniform(-3, 3)
    outline = legs(72, 94 + w, 102 + w, 196, 430, hem_out + w, hem_in)
    body = Mask().poly(outline)
    cv.fill(body, pattern("denim", look.colour, look.colour, r))
    for s in (1, -1):
        cv.tint(Mask().ellipse((C + s * 56 - 34, 120, C + s * 56 + 34, 290)).within(body), (255, 255, 255), 0.22,
                blur=18)
        cv.tint(Mask().ellipse((C + s * 54 - 24, 300, C + s * 54 + 24, 360)).within(body), (255, 255, 255), 0.12,
                blur=10)
    waistband(cv, look, 72, 94 + w)
    stitch = (214, 150, 70)
    cv.dashed([(C - 20, 72), (C - 20, 150), (C - 10, 170), (C, 176)], stitch)
    for s in (1, -1):
        cv.dashed([(C + s * 58, 72), (C + s * 66, 110), (C + s * (100 + w), 124)], stitch)
        cv.dashed([(C + s * (102 + w), 166), (C + s * (hem_out + w + 2), 428)], stitch)
        cv.dashed([(C + s * (hem_out + w - 2), 416), (C + s * (hem_in + 2), 416)], stitch)
        cv.dot((C + s * 100, 124), 3, (186, 132, 70))
    cv.draw.rectangle((C + 66, 76, C + 86, 96), outline=stitch, width=2)
    cv.dot((C, 58), 7, METAL["silver"], outline=(110, 110, 116))


def draw_trousers(cv, look, r):
    slim = look.variant == "slim"
    w = r.uniform(-3, 3)
    hem_out, hem_in = (84, 22) if slim else (98, 16)
    body = Mask().poly(legs(72, 92 + w, 100 + w, 200, 432, hem_out + w, hem_in))
    paint = look.paint(angle=0, scale=0.8)
    cv.fill(body, paint)
    waistband(cv, look, 72, 92 + w)
    seam = ink(look.colour)
    cv.line([(C - 4, 74), (C - 4, 180)], seam, 2)
    for s in (1, -1):
        cv.line([(C + s * 60, 74), (C + s * (100 + w), 140)], seam, 3)
        mid_top, mid_hem = (C + s * 54, 150), (C + s * (hem_out + hem_in) / 2, 430)
        cv.line([mid_top, mid_hem], tone(look.colour, 0.8), 2)
        cv.tint(Mask().poly([(mid_top[0], mid_top[1]), (mid_hem[0], mid_hem[1]),
                             (mid_hem[0] - s * 16, mid_hem[1]), (mid_top[0] - s * 14, mid_top[1])]).within(body),
                (255, 255, 255), 0.12, blur=4)
    cv.dot((C + 10, 58), 5, tone(look.colour, 0.7))


def draw_track_pants(cv, look, r):
    w = r.uniform(-3, 3)
    body = Mask().poly(legs(80, 96 + w, 100 + w, 206, 408, 70 + w, 20))
    cv.fill(body, look.colour)
    for s in (1, -1):
        stripe = Mask().poly(side(shift([(84 + w, 70), (98 + w, 70), (68 + w, 420), (52 + w, 420)], C), s)).within(body)
        cv.fill(stripe, look.accent, light=0.6, edge=0)
        cuff = side(shift([(72 + w, 404), (18, 404), (20, 434), (68 + w, 434)], C), s)
        cv.fill(Mask().poly(cuff), tone(look.colour, 0.88), light=0.5)
        for k in range(1, 6):
            x = C + s * (20 + k * (50 + w) / 6)
            cv.line([(x, 408), (x, 430)], tone(look.colour, 0.75), 2)
    cv.fill(Mask().rect((C - 96 - w, 48, C + 96 + w, 82), radius=4), tone(look.colour, 0.9), light=0.5)
    for x in range(round(C - 90 - w), round(C + 92 + w), 8):
        cv.line([(x, 52), (x, 78)], tone(look.colour, 0.78), 2)
    for s in (1, -1):
        cv.line([(C + s * 6, 70), (C + s * 14, 130), (C + s * 10, 150)], look.accent, 4)
        cv.dot((C + s * 10, 152), 4, tone(look.accent, 0.8))


def draw_shorts(cv, look, r):
    w = r.uniform(-4, 4)
    body = Mask().poly(legs(110, 104 + w, 112 + w, 262, 346, 130 + w, 10))
    paint = look.paint(scale=0.85)
    cv.fill(body, paint)
    waistband(cv, look, 110, 104 + w, height=30)
    seam = ink(look.colour)
    cv.line([(C - 4, 112), (C - 4, 220)], seam, 2)
    for s in (1, -1):
        cv.line([(C + s * 64, 112), (C + s * (110 + w), 170)], seam, 3)
        cv.dashed([(C + s * 12, 334), (C + s * (128 + w), 334)], seam)
        if look.variant == "cargo":
            x0 = C + s * (118 + w)
            box = (min(x0, x0 - s * 56), 240, max(x0, x0 - s * 56), 312)
            cv.fill(Mask().rect(box, radius=4), paint, light=0.6)
            cv.fill(Mask().rect((box[0] - 2, 232, box[2] + 2, 256), radius=4), tone(look.colour, 0.95), light=0.6)


def draw_skirt(cv, look, r):
    w = r.uniform(-6, 6)
    v = look.variant
    hem = {"aline": (154 + w, 380), "pleated": (166 + w, 384), "pencil": (92 + w, 392)}[v]
    half = [(0, 96), (84, 96)] + ([(98, 190)] if v == "pencil" else []) + [hem]
    half += bez(hem, (hem[0] * 0.6, hem[1] + 14), (0, hem[1] + 12))[1:]
    body = Mask().poly(sym(half))
    cv.fill(body, look.paint(scale=0.85))
    cv.fill(Mask().rect((C - 84, 64, C + 84, 98), radius=3), look.paint(), light=0.5)
    seam = ink(look.colour)
    if v == "pleated":
        for k in range(-5, 6):
            cv.line([(C + k * 15, 100), (C + k * 29, hem[1] + 8 - abs(k) * 1.2)], tone(look.colour, 0.78), 2)
    elif v == "pencil":
        cv.line([(C, 340), (C, hem[1] + 10)], seam, 3)
    cv.dot((C + 70, 80), 5, tone(look.colour, 0.7))
    cv.dashed([(C - hem[0] + 8, hem[1] - 8), (C, hem[1] + 4), (C + hem[0] - 8, hem[1] - 8)], seam)


# --------------------------------------------------------------------------- footwear

def laces(cv, start, end, n, colour):
    """Laces across a shoe's throat, from start to end."""
    for k in range(n):
        x, y = lerp(start, end, (k + 0.5) / n)
        cv.line([(x - 10, y - 8), (x + 10, y + 8)], colour, 6)
        cv.dot((x - 10, y - 9), 3, (60, 60, 64))


def draw_casual_shoe(cv, look, r):
    sole = (246, 244, 238) if r.random() < 0.7 or luminance(look.colour) > 0.8 else (194, 146, 92)
    upper = spline([(58, 300), (66, 266), (100, 246), (160, 232), (208, 206), (250, 172), (270, 156),
                    (296, 166), (326, 172), (352, 154), (378, 162), (394, 208), (398, 300), (300, 304), (150, 304)], 8)
    cv.fill(Mask().ellipse((240, 132, 300, 196)), tone(look.colour, 0.9))
    body = Mask().poly(upper)
    cv.fill(body, look.colour)
    cv.fill(Mask().ellipse((20, 236, 156, 360)).within(body), tone(look.colour, 1.08), light=0.5)
    cv.fill(Mask().ellipse((322, 160, 440, 330)).within(body), tone(look.colour, 0.86), light=0.5)
    cv.fill(Mask().rect((48, 294, 404, 340), radius=18), sole, light=0.6)
    cv.line([(60, 310), (392, 310)], tone(sole, 0.82), 3)
    cv.fill(Mask().line([(162, 234), (262, 168)], 26), tone(look.colour, 0.92), light=0.4)
    laces(cv, (168, 232), (258, 170), 5, (244, 244, 240) if luminance(look.colour) < 0.7 else (70, 70, 76))
    cv.dashed([(100, 262), (132, 300)], ink(look.colour))


def draw_sports_shoe(cv, look, r):
    upper = spline([(50, 290), (60, 258), (104, 236), (164, 222), (212, 196), (252, 160), (276, 138),
                    (302, 150), (330, 158), (360, 134), (386, 138), (400, 190), (404, 282), (300, 290), (150, 294)], 8)
    cv.fill(Mask().poly([(244, 150), (272, 112), (306, 126), (290, 170)]), tone(look.colour, 0.85))
    body = Mask().poly(upper)
    cv.fill(body, pattern("mesh", look.colour, look.colour, r))
    cv.fill(Mask().ellipse((40, 230, 150, 320)).within(body), tone(look.colour, 0.9), light=0.4)
    stripe = bez((120, 288), (250, 262), (376, 186)) + bez((384, 210), (266, 286), (170, 296))
    cv.fill(Mask().poly(stripe).within(body), look.accent, light=0.5, edge=0.8)
    cv.fill(Mask().ellipse((336, 124, 440, 300)).within(body), tone(look.colour, 0.82), light=0.4)
    mid = (248, 248, 246) if luminance(look.colour) < 0.85 else (210, 212, 218)
    midsole = [(40, 290), (200, 298), (330, 282), (412, 264), (414, 326), (300, 330), (70, 332), (38, 316)]
    cv.fill(Mask().poly(spline(midsole, 6)), mid, light=0.5)
    cv.line(bez((90, 312), (240, 300), (400, 292)), tone(mid, 0.82), 3)
    cv.fill(Mask().poly(spline([(44, 322), (200, 330), (412, 318), (408, 342), (200, 346), (60, 338)], 6)),
            SOLE_DARK, light=0.3)
    for x in range(80, 400, 22):
        cv.line([(x, 334), (x + 6, 340)], (84, 80, 76), 3)
    cv.fill(Mask().line([(166, 224), (266, 158)], 26), tone(look.colour, 0.92), light=0.4)
    laces(cv, (172, 222), (262, 160), 5, (244, 244, 240) if luminance(look.colour) < 0.7 else (60, 60, 66))


def draw_formal_shoe(cv, look, r):
    upper = spline([(40, 306), (52, 286), (100, 270), (170, 258), (220, 240), (262, 228), (300, 230),
                    (340, 222), (372, 214), (392, 240), (396, 306), (300, 310), (150, 312)], 8)
    body = Mask().poly(upper)
    cv.fill(body, look.colour, light=1.2)
    cv.tint(Mask().ellipse((70, 270, 170, 300)), (255, 255, 255), 0.35, blur=8)
    cv.fill(Mask().poly(spline([(200, 244), (262, 226), (300, 232), (258, 252)], 6)), tone(look.colour, 0.8), light=0.3)
    laces(cv, (214, 244), (282, 230), 3, tone(look.colour, 0.55))
    cv.dashed(bez((212, 252), (160, 282), (214, 304)), ink(look.colour))
    cv.dashed([(300, 240), (340, 296)], ink(look.colour))
    cv.fill(Mask().poly([(34, 304), (330, 308), (330, 322), (60, 320)]), SOLE_DARK, light=0.3)
    cv.fill(Mask().rect((326, 300, 398, 338), radius=4), SOLE_DARK, light=0.3)


def draw_heels(cv, look, r):
    block = look.variant == "block"
    lining = (236, 222, 200) if luminance(look.colour) < 0.75 else (204, 178, 150)
    heel = [(326, 236), (368, 226), (364, 392), (334, 392)] if block else [(330, 236), (368, 226), (354, 392), (342,
                                                                                                                392)]
    cv.fill(Mask().poly(heel), tone(look.colour, 0.8))
    cv.fill(Mask().rect((heel[3][0] - 2, 382, heel[2][0] + 2, 398), radius=2), SOLE_DARK, light=0)
    upper = spline([(34, 334), (58, 300), (120, 282), (200, 258), (290, 212), (360, 176), (386, 186),
                    (384, 226), (340, 246), (250, 292), (160, 334), (90, 352), (46, 350)], 8)
    cv.fill(Mask().poly(upper), look.colour, light=1.2)
    opening = spline([(150, 280), (230, 240), (320, 196), (364, 180), (374, 194), (340, 220), (260, 262), (180, 290)],
                     8)
    cv.fill(Mask().poly(opening), lining, light=0.5, edge=0.5)
    cv.line(bez((44, 352), (150, 346), (340, 244)), SOLE_DARK, 5)
    cv.tint(Mask().ellipse((56, 300, 136, 326)), (255, 255, 255), 0.3, blur=8)


def draw_flats(cv, look, r):
    lining = (236, 222, 200) if luminance(look.colour) < 0.75 else (204, 178, 150)
    for dx, dy, f in ((46, -58, 0.86), (0, 0, 1.0)):
        colour = tone(look.colour, f)
        outline = shift(spline([(40, 312), (62, 272), (130, 248), (250, 236), (360, 232), (398, 256),
                                (398, 300), (330, 320), (200, 328), (90, 330)], 8), dx, dy)
        cv.fill(Mask().poly(outline), colour)
        cv.line(shift(bez((46, 322), (220, 340), (398, 298)), dx, dy), SOLE_DARK, 6)
        opening = shift(spline([(152, 264), (210, 246), (300, 240), (370, 244), (386, 258), (360, 272),
                                (270, 280), (190, 280)], 8), dx, dy)
        cv.fill(Mask().poly(opening), lining, light=0.5, edge=0.5)
        cv.fill(Mask().poly(shift([(300, 240), (370, 244), (386, 258), (376, 262), (360, 252), (300, 250)], dx, dy)),
                tone(colour, 0.7), light=0, edge=0)
        cv.tint(Mask().ellipse((70 + dx, 276 + dy, 140 + dx, 300 + dy)), (255, 255, 255), 0.3, blur=6)
        x, y = 150 + dx, 266 + dy
        if look.variant == "bow":
            bow = look.accent if r.random() < 0.4 else tone(look.colour, 0.8)
            cv.draw.polygon([(x - 26, y - 14), (x, y), (x - 26, y + 14)], fill=bow)
            cv.draw.polygon([(x + 24, y - 16), (x, y), (x + 24, y + 14)], fill=bow)
            cv.dot((x, y), 7, tone(bow, 0.85))
        else:
            for k in range(6):
                cv.dot((x - 68 + k * 14, y + 26 - math.sin(k / 5 * math.pi) * 16), 5, METAL["gold"],
                       outline=tone(METAL["gold"], 0.7))


def draw_sandals(cv, look, r):
    sole = (150, 110, 70) if luminance(look.colour) < 0.3 else tone(look.colour, 0.55)
    footbed = (224, 196, 160) if luminance(look.colour) < 0.6 else tone(look.colour, 1.15)
    cv.fill(Mask().poly(spline([(36, 322), (70, 306), (200, 314), (340, 306), (404, 300), (406, 342),
                                (300, 348), (60, 348)], 6)), sole, light=0.6)
    cv.fill(Mask().poly(spline([(44, 318), (70, 304), (200, 310), (340, 302), (400, 298), (400, 312),
                                (300, 318), (70, 322)], 6)), footbed, light=0.4, edge=0.8)
    strap = look.colour
    for arch in (bez((64, 316), (104, 218), (160, 312)), bez((150, 316), (204, 206), (270, 308))):
        cv.fill(Mask().line(arch, 32), strap)
    cv.fill(Mask().line(bez((276, 306), (290, 206), (356, 196)) + [(362, 200)], 26), strap)
    cv.fill(Mask().line(bez((362, 200), (396, 250), (376, 304)), 26), strap)
    cv.fill(Mask().rect((318, 188, 346, 214), radius=3).rect((325, 195, 339, 207), on=False), METAL["silver"],
            light=0.6)
    for arch in (bez((64, 316), (104, 218), (160, 312)), bez((150, 316), (204, 206), (270, 308))):
        cv.dashed(arch[2:-2], ink(strap))
    cv.line([(52, 332), (400, 328)], tone(sole, 0.7), 2)


def draw_flip_flops(cv, look, r):
    """A pair seen from above, left and right foot mirrored."""
    strap = look.accent if r.random() < 0.5 else tone(look.colour, 0.7)
    sole = [(-10, 46), (44, 64), (56, 150), (34, 250), (44, 340), (10, 404), (-34, 396), (-50, 330), (-44, 250),
            (-62, 150), (-50, 70)]
    for cx, s in ((154, 1), (300, -1)):
        centre = (cx, 220)
        outline = rotate(spline([(cx + s * dx, y) for dx, y in sole], 8), centre, -5 * s)
        cv.fill(Mask().poly(shift(outline, 5, 7)), tone(look.colour, 0.6), light=0)
        cv.fill(Mask().poly(outline), look.paint(scale=0.8))
        post, left, right = rotate([(cx - 4 * s, 96), (cx - 52, 200), (cx + 52, 200)], centre, -5 * s)
        for end, bow in ((left, -14), (right, 14)):
            cv.fill(Mask().line(bez(post, ((post[0] + end[0]) / 2 + bow, post[1] + 30), end), 18), strap, light=0.5)
        cv.dot(post, 9, tone(strap, 0.8))


# --------------------------------------------------------------------------- accessories

def draw_watch(cv, look, r):
    metal_strap = look.variant.startswith("metal")
    case = look.colour if metal_strap else r.choice((METAL["silver"], METAL["silver"], METAL["gold"]))
    strap = look.colour
    stitch = tone(strap, 0.6) if luminance(strap) > 0.2 else (120, 120, 120)
    for top, bottom in ((18, 150), (298, 430)):
        cv.fill(Mask().rect((C - 46, top, C + 46, bottom), radius=10), strap)
        for s in (1, -1):
            if metal_strap:
                cv.line([(C + s * 16, top + 4), (C + s * 16, bottom - 4)], tone(strap, 0.75), 2)
            else:
                cv.dashed([(C + s * 36, top + 8), (C + s * 36, bottom - 8)], stitch)
        if metal_strap:
            for y in range(top + 12, bottom, 16):
                cv.line([(C - 44, y), (C + 44, y)], tone(strap, 0.7), 2)
    if not metal_strap:
        for y in (340, 364, 388):
            cv.dot((C, y), 4, tone(strap, 0.4))
    centre = (C, 224)
    cv.fill(Mask().rect((C + 92, 210, C + 110, 238), radius=4), case, light=0.6)
    cv.fill(Mask().ellipse((C - 100, 124, C + 100, 324)), case, light=1.4)
    dial = r.choice(((248, 248, 246), (30, 32, 38), (32, 52, 110) if metal_strap else tone(strap, 0.9)))
    face = Mask().ellipse((C - 84, 140, C + 84, 308))
    cv.fill(face, dial, light=0.5, edge=0.8)
    mark = (40, 40, 44) if luminance(dial) > 0.5 else (236, 236, 236)
    for k in range(12):
        a = k * math.pi / 6
        cv.line([polar(centre, a, 62 if k % 3 else 54), polar(centre, a, 74)], mark, 3 if k % 3 else 5)
    if look.variant.endswith("chrono"):
        for dx, dy in ((0, 34), (-34, 0), (34, 0)):
            cv.draw.ellipse((C + dx - 18, 224 + dy - 18, C + dx + 18, 224 + dy + 18), outline=mark, width=2)
        for y in (160, 274):
            cv.fill(Mask().rect((C + 74, y, C + 92, y + 14), radius=3), case, light=0.4)
    hour, minute, second = (r.uniform(0, math.tau) for _ in range(3))
    cv.line([centre, polar(centre, hour, 40)], mark, 7)
    cv.line([centre, polar(centre, minute, 62)], mark, 5)
    cv.line([polar(centre, second + math.pi, 14), polar(centre, second, 70)], (214, 40, 40), 2)
    cv.dot(centre, 6, case)
    cv.tint(Mask().poly([(C - 70, 180), (C - 40, 150), (C + 20, 150), (C - 60, 220)]).within(face),
            (255, 255, 255), 0.14, blur=6)


def draw_handbag(cv, look, r):
    hardware = METAL["gold"] if r.random() < 0.6 else METAL["silver"]
    if look.variant == "tote":
        for dx, f in ((10, 0.68), (0, 0.9)):
            cv.fill(Mask().line(bez((C - 72 + dx, 176), (C + dx, 20), (C + 72 + dx, 176)), 16), tone(look.colour, f),
                    light=0.5)
        body = Mask().poly(spline([(C - 124, 168), (C, 166), (C + 124, 168), (C + 150, 300), (C + 146, 396),
                                   (C, 404), (C - 146, 396), (C - 150, 300)], 8))
        cv.fill(body, look.paint(scale=0.9))
        cv.dashed([(C - 120, 188), (C + 120, 188)], ink(look.colour))
        for s in (1, -1):
            cv.dot((C + s * 72, 178), 7, hardware, outline=tone(hardware, 0.6))
    else:
        cv.fill(Mask().line(bez((C - 60, 150), (C, 50), (C + 60, 150)), 18), tone(look.colour, 0.9), light=0.5)
        body = Mask().rect((C - 150, 140, C + 150, 384), radius=34)
        cv.fill(body, look.paint(scale=0.9))
        flap = Mask().poly([(C - 150, 150), (C + 150, 150)] + bez((C + 150, 230), (C, 290), (C - 150,
                                                                                             230))).within(body)
        cv.fill(flap, tone(look.colour, 0.94), light=0.6)
        cv.fill(Mask().rect((C - 22, 238, C + 22, 270), radius=6), hardware, light=0.8)
        cv.fill(Mask().rect((C - 10, 246, C + 10, 262), radius=3), tone(look.colour, 0.8), light=0, edge=0.8)
        for s in (1, -1):
            cv.draw.ellipse((C + s * 150 - 12, 150, C + s * 150 + 12, 176), outline=hardware, width=5)
        cv.dashed([(C - 134, 366), (C + 134, 366)], ink(look.colour))


def draw_backpack(cv, look, r):
    paint = look.paint(scale=0.9)
    dark = tone(look.colour, 0.7)
    for s in (1, -1):
        cv.fill(Mask().rect((C + s * 124 - 12, 104, C + s * 124 + 12, 390), radius=8), dark, light=0.3)
    cv.fill(Mask().line(bez((C - 30, 70), (C, 30), (C + 30, 70)), 12), dark, light=0.3)
    body = Mask().rect((C - 120, 60, C + 120, 420), radius=90)
    cv.fill(body, paint)
    zip_colour = tone(look.colour, 0.5)
    cv.line(bez((C - 112, 180), (C, 40), (C + 112, 180)), zip_colour, 4)
    pocket = Mask().rect((C - 92, 250, C + 92, 400), radius=30)
    cv.fill(pocket, paint, light=0.6)
    cv.line([(C - 80, 270), (C + 80, 270)], zip_colour, 4)
    for x, y in ((C + 60, 270), (C + 80, 120)):
        cv.fill(Mask().rect((x - 4, y, x + 4, y + 26), radius=3), look.accent, light=0)
    cv.fill(Mask().rect((C - 40, 196, C + 40, 212), radius=6), look.accent, light=0.3)


def draw_sunglasses(cv, look, r):
    frame = look.colour
    lens = r.choice(((40, 40, 46), (70, 50, 36), (36, 60, 96), (60, 66, 60)))
    shape = look.variant
    for s in (1, -1):
        cx, cy = C + s * 92, 224
        if shape == "aviator":
            outline = spline([(cx - s * 64, cy - 44), (cx + s * 60, cy - 40), (cx + s * 70, cy + 10),
                              (cx + s * 30, cy + 62), (cx - s * 20, cy + 66), (cx - s * 66, cy + 10)], 10)
        elif shape == "round":
            outline = spline([(cx + 66 * math.cos(a), cy + 62 * math.sin(a)) for a in np.linspace(0, math.tau, 12,
                                                                                                  endpoint=False)], 6)
        elif shape == "cateye":
            outline = spline([(cx - s * 64, cy - 30), (cx + s * 50, cy - 40), (cx + s * 78, cy - 54),
                              (cx + s * 60, cy + 30), (cx, cy + 54), (cx - s * 60, cy + 30)], 10)
        else:
            outline = spline([(cx - s * 70, cy - 48), (cx + s * 72, cy - 48), (cx + s * 72, cy + 40),
                              (cx, cy + 52), (cx - s * 66, cy + 40)], 10)
        cv.fill(Mask().line([(cx + s * 60, cy - 38), (cx + s * 120, cy - 44)], 12), tone(frame, 0.8), light=0.4)
        cv.fill(Mask().line(outline + outline[:2], 14), frame, light=0.6, edge=0.7)
        glass = Mask().poly(outline)
        cv.fill(glass, lens, light=0.4, edge=0)
        cv.tint(Mask().poly([(cx - 40, cy - 30), (cx - 16, cy - 40), (cx - 50, cy + 30), (cx - 64,
                                                                                          cy + 10)]).within(glass),
                (255, 255, 255), 0.28, blur=4)
    cv.fill(Mask().line(bez((C - 28, 204), (C, 188), (C + 28, 204)), 12), frame, light=0.4)
    if shape == "aviator":
        cv.fill(Mask().line([(C - 40, 184), (C + 40, 184)], 7), frame, light=0.4)


def draw_cap(cv, look, r):
    crown = bez((118, 300), (110, 116), (256, 110)) + bez((256, 110), (402, 116), (400, 300))[1:]
    body = Mask().poly(crown + [(256, 306)])
    cv.fill(body, look.paint(scale=0.8))
    seam = ink(look.colour)
    for ctrl, end in (((160, 160), (170, 300)), ((270, 200), (270, 304)), ((360, 170), (360, 300))):
        cv.line(bez((256, 114), ctrl, end), seam, 2)
    cv.dot((256, 112), 8, tone(look.colour, 0.85), outline=seam)
    cv.dot((214, 170), 4, seam)
    cv.dot((318, 172), 4, seam)
    cv.fill(Mask().rect((120, 288, 400, 306), radius=4), tone(look.colour, 0.82), light=0.3)
    brim = bez((150, 288), (70, 290), (24, 332)) + bez((24, 332), (100, 318), (210, 304))
    cv.fill(Mask().poly(brim), look.paint(scale=0.8), light=0.8)
    cv.fill(Mask().poly(bez((24, 332), (100, 318), (150, 310)) + bez((150, 322), (90, 330), (24, 334))),
            tone(look.colour, 0.55), light=0, edge=0)
    cv.dashed(bez((140, 298), (70, 302), (40, 326)), seam)


def draw_belt(cv, look, r):
    """A buckled belt seen from slightly above, as a ring."""
    buckle = METAL["gold"] if r.random() < 0.4 else METAL["silver"]
    ring = Mask().ellipse((34, 110, 414, 340)).ellipse((80, 146, 368, 306), on=False)
    cv.fill(ring, look.colour, light=1.1)
    cv.dashed([(C + 172 * math.cos(a), 225 + 104 * math.sin(a)) for a in np.linspace(0, math.tau, 90)],
              ink(look.colour))
    tail = Mask().poly([(C - 20, 308), (C - 150, 290), (C - 158, 306), (C - 150, 322), (C - 20, 342)])
    cv.fill(tail, tone(look.colour, 0.95), light=0.8)
    for x in (C + 60, C + 84, C + 108):
        cv.dot((x, 330 - (x - C) * 0.18), 4, tone(look.colour, 0.4))
    cv.fill(Mask().rect((C - 50, 290, C + 12, 358), radius=8).rect((C - 38, 302, C, 346), radius=4, on=False), buckle,
            light=0.8)
    cv.line([(C - 44, 324), (C + 6, 324)], tone(buckle, 0.7), 5)
    cv.fill(Mask().rect((C + 20, 300, C + 36, 350), radius=3), tone(look.colour, 0.85), light=0.3)


def draw_wallet(cv, look, r):
    card = COLOURS[r.choice(("Blue", "Red", "Silver", "Gold", "Green"))]
    cv.fill(Mask().rect((190, 96, 350, 180), radius=8), card, light=0.4)
    cv.line([(200, 120), (340, 120)], tone(card, 0.7), 6)
    body = Mask().rect((70, 130, 378, 340), radius=22)
    cv.fill(body, look.colour, light=1.1)
    cv.fill(Mask().rect((70, 130, 378, 158), radius=12).within(body), tone(look.colour, 0.85), light=0.6)
    cv.dashed([(86, 170), (86, 324), (362, 324), (362, 170)], ink(look.colour))
    cv.fill(Mask().rect((300, 270, 340, 300), radius=6), tone(look.colour, 0.88), light=0, edge=0.75)


def draw_socks(cv, look, r):
    """A pair of socks side by side, toes pointing left."""
    for x0, y0 in ((150, 40), (262, 66)):
        sock = spline([(x0, y0), (x0 + 92, y0), (x0 + 96, y0 + 240), (x0 + 84, y0 + 306), (x0 + 40, y0 + 330),
                       (x0 - 80, y0 + 336), (x0 - 106, y0 + 310), (x0 - 84, y0 + 276), (x0 - 10, y0 + 262),
                       (x0 - 4, y0 + 160)], 8)
        body = Mask().poly(sock)
        cv.fill(body, look.paint(scale=0.8))
        patch = tone(look.colour, 0.8) if look.pattern != "solid" else look.accent
        cv.fill(Mask().ellipse((x0 + 30, y0 + 250, x0 + 130, y0 + 350)).within(body), patch, light=0.4, edge=0.8)
        cv.fill(Mask().ellipse((x0 - 130, y0 + 270, x0 - 50, y0 + 360)).within(body), patch, light=0.4, edge=0.8)
        cuff = Mask().rect((x0 - 6, y0 - 4, x0 + 100, y0 + 44)).within(body)
        cv.fill(cuff, tone(look.colour, 0.92), light=0.4)
        for k in range(1, 11):
            cv.line([(x0 + k * 9, y0 + 4), (x0 + k * 9, y0 + 40)], tone(look.colour, 0.78), 2)


def draw_tie(cv, look, r):
    paint = look.paint(angle=45, scale=0.7)
    blade = Mask().poly([(C - 22, 92), (C + 22, 92), (C + 64, 380), (C, 432), (C - 64, 380)])
    cv.fill(blade, paint)
    cv.fill(Mask().poly([(C - 60, 20), (C + 60, 20), (C + 52, 40), (C + 20, 34), (C - 20, 34), (C - 52, 40)]),
            tone(look.colour, 0.7), light=0)
    cv.fill(Mask().poly([(C - 36, 28), (C + 36, 28), (C + 22, 96), (C - 22, 96)]), paint, light=1.2)
    cv.line([(C, 100), (C + 2, 140)], tone(look.colour, 0.78), 3)


def draw_scarf(cv, look, r):
    """A scarf looped around an (invisible) neck with both fringed ends hanging down."""
    paint = look.paint(scale=0.9)
    fold = tone(look.colour, 0.8)
    cv.fill(Mask().ellipse((C - 118, 30, C + 118, 196)).ellipse((C - 74, 56, C + 74, 136), on=False), paint)
    cv.fill(Mask().ellipse((C - 78, 52, C + 78, 140)).ellipse((C - 74, 62, C + 74, 136), on=False),
            tone(look.colour, 0.7), light=0, edge=0)
    ends = ([(C - 84, 150), (C + 6, 160), (C + 10, 390), (C - 76, 384)],
            [(C - 20, 160), (C + 80, 140), (C + 96, 414), (C + 8, 420)])
    for top_left, top_right, bottom_right, bottom_left in ends:
        cv.fill(Mask().poly([top_left, top_right, bottom_right, bottom_left]), paint)
        for t in (0.33, 0.66):
            cv.line([lerp(top_left, top_right, t), lerp(bottom_left, bottom_right, t)], fold, 2)
        for k in range(12):
            x, y = lerp(bottom_left, bottom_right, (k + 0.5) / 12)
            cv.line([(x, y), (x + 1, y + 22)], fold, 3)


# --------------------------------------------------------------------------- catalog

ALL_SEASONS = ("Summer", "Fall", "Winter", "Spring")
WARM = ("Summer", "Summer", "Spring", "Fall")
COLD = ("Winter", "Winter", "Fall", "Fall", "Spring")

APPAREL = ("Northwind", "Kestrel", "Bluefinch", "Tidewater", "Copperleaf", "Larkspur", "Fernhill",
           "Ashgrove", "Urban Loom", "Marlowe Row", "Wildmere", "Harbourline")
ETHNIC = ("Saffron Loom", "Indigo Vale", "Marigold Lane", "Fernhill")
SPORTS = ("Stridewell", "Pacerline", "Trailhound", "Sprintvale")
FOOTWEAR = ("Cobble & Finch", "Heelmark", "Larkspur", "Northwind")
WATCHMAKERS = ("Ironbark", "Tickwright", "Brassfield")
EYEWEAR = ("Sunvale", "Glintwood", "Ironbark")
LEATHER = ("Ledger & Hide", "Brassfield", "Packhorse", "Cobble & Finch")
BAGS = ("Packhorse", "Ledger & Hide", "Kestrel", "Larkspur")
KNITWEAR = ("Mistral Knit", "Fernhill", "Marlowe Row")
KIDS = ("Little Wren", "Puddlejump")

APPAREL_COLOURS = ("Black", "White", "Grey", "Navy Blue", "Blue", "Red", "Green", "Maroon", "Olive",
                   "Yellow", "Teal", "Charcoal", "Pink", "Purple", "Orange", "Mustard")
WOMEN_COLOURS = ("Black", "White", "Pink", "Red", "Blue", "Navy Blue", "Purple", "Lavender", "Peach",
                 "Yellow", "Green", "Teal", "Maroon", "Magenta", "Cream", "Turquoise Blue")
NEUTRALS = ("Black", "Navy Blue", "Grey", "Charcoal", "Beige", "Khaki", "Brown", "Olive", "Cream")


@dataclass(frozen=True)
class Article:
    """One product line: its taxonomy, how it is named and drawn, and how many to make."""
    article_type: str
    master: str
    sub: str
    noun: str
    count: int
    draw: Callable
    genders: dict
    colours: tuple
    patterns: tuple  # repeated entries weight the choice
    styles: tuple  # (name descriptor, drawing variant)
    usages: tuple
    brands: tuple = APPAREL
    seasons: tuple = ALL_SEASONS


ARTICLES = (
    Article("Tshirts", "Apparel", "Topwear", "T-shirt", 22, draw_tshirt,
            {"Men": 55, "Women": 25, "Boys": 10, "Girls": 5, "Unisex": 5}, APPAREL_COLOURS,
            ("solid", "solid", "striped", "graphic", "graphic", "printed"),
            (("Round Neck", "round"), ("V-Neck", "v"), ("Polo", "polo"), ("", "round")), ("Casual", "Casual", "Sports"),
            seasons=WARM),
    Article("Shirts", "Apparel", "Topwear", "Shirt", 18, draw_shirt,
            {"Men": 75, "Women": 15, "Boys": 10},
            ("White", "Blue", "Navy Blue", "Black", "Grey", "Pink", "Maroon", "Olive", "Green", "Lavender", "Red",
             "Beige"),
            ("solid", "checked", "checked", "striped"),
            (("Slim Fit", "slim"), ("Regular Fit", "regular"), ("", "regular")),
            ("Casual", "Formal")),
    Article("Tops", "Apparel", "Topwear", "Top", 12, draw_top, {"Women": 85, "Girls": 15}, WOMEN_COLOURS,
            ("solid", "printed", "floral", "striped", "polka"),
            (("Peplum", "peplum"), ("Sleeveless", "tank"), ("Short Sleeve", "regular"), ("", "regular")), ("Casual",
                                                                                                           "Party")),
    Article("Sweatshirts", "Apparel", "Topwear", "Sweatshirt", 10, draw_sweatshirt,
            {"Men": 50, "Women": 30, "Unisex": 10, "Boys": 10}, APPAREL_COLOURS,
            ("solid", "solid", "graphic", "striped"), (("Hooded", "hood"), ("Crew Neck", "crew"), ("", "crew")),
            ("Casual", "Sports"), seasons=COLD),
    Article("Jackets", "Apparel", "Topwear", "Jacket", 10, draw_jacket,
            {"Men": 55, "Women": 35, "Unisex": 10}, NEUTRALS + ("Red", "Blue", "Maroon"), ("solid",),
            (("Bomber", "bomber"), ("Quilted", "quilted"), ("Zip-Up", "zip"), ("Casual", "zip")), ("Casual",),
            seasons=COLD),
    Article("Kurtas", "Apparel", "Topwear", "Kurta", 4, draw_kurta, {"Men": 100},
            ("White", "Cream", "Maroon", "Mustard", "Navy Blue", "Beige", "Olive"),
            ("solid", "solid", "printed"), (("Straight", "straight"), ("Mandarin Collar", "straight")),
            ("Ethnic",), ETHNIC),
    Article("Kurtas", "Apparel", "Topwear", "Kurta", 6, draw_kurta, {"Women": 100},
            ("White", "Maroon", "Mustard", "Green", "Pink", "Teal", "Orange", "Peach"),
            ("solid", "printed", "floral"), (("Straight", "straight"), ("A-Line", "aline"), ("", "aline")),
            ("Ethnic",), ETHNIC),
    Article("Jeans", "Apparel", "Bottomwear", "Jeans", 12, draw_jeans, {"Men": 60, "Women": 35, "Boys": 5},
            ("Blue", "Navy Blue", "Black", "Grey"), ("solid",),
            (("Slim Fit", "slim"), ("Skinny Fit", "skinny"), ("Regular Fit", "regular"), ("Washed", "regular")),
            ("Casual",)),
    Article("Trousers", "Apparel", "Bottomwear", "Trousers", 10, draw_trousers, {"Men": 65, "Women": 35},
            NEUTRALS, ("solid", "solid", "solid", "checked"),
            (("Slim Fit", "slim"), ("Regular Fit", "regular"), ("Flat-Front", "regular")),
            ("Formal", "Casual")),
    Article("Shorts", "Apparel", "Bottomwear", "Shorts", 8, draw_shorts, {"Men": 60, "Women": 20, "Boys": 20},
            NEUTRALS + ("Blue", "Red", "Teal"), ("solid", "solid", "checked", "printed"),
            (("Cargo", "cargo"), ("Regular Fit", "plain"), ("", "plain")), ("Casual", "Sports"), seasons=WARM),
    Article("Skirts", "Apparel", "Bottomwear", "Skirt", 8, draw_skirt, {"Women": 80, "Girls": 20}, WOMEN_COLOURS,
            ("solid", "floral", "polka", "checked"), (("A-Line", "aline"), ("Pleated", "pleated"), ("Pencil",
                                                                                                    "pencil")),
            ("Casual", "Party")),
    Article("Track Pants", "Apparel", "Bottomwear", "Track Pants", 8, draw_track_pants,
            {"Men": 60, "Women": 30, "Unisex": 10}, ("Black", "Navy Blue", "Grey", "Charcoal", "Blue", "Red", "Maroon"),
            ("solid",), (("Training", ""), ("Slim Fit", ""), ("", "")), ("Sports",), SPORTS),
    Article("Dresses", "Apparel", "Dress", "Dress", 12, draw_dress, {"Women": 85, "Girls": 15}, WOMEN_COLOURS,
            ("solid", "floral", "floral", "polka", "striped", "printed"),
            (("Fit and Flare", "flare"), ("Maxi", "maxi"), ("Shift", "shift"), ("", "flare")), ("Casual", "Party")),
    Article("Casual Shoes", "Footwear", "Shoes", "Casual Shoes", 14, draw_casual_shoe,
            {"Men": 60, "Women": 30, "Unisex": 10},
            ("White", "Black", "Navy Blue", "Blue", "Grey", "Red", "Brown", "Tan", "Olive", "Beige"), ("solid",),
            (("Canvas", ""), ("Leather", ""), ("Suede", ""), ("Low-Top", "")), ("Casual",), FOOTWEAR + ("Stridewell",)),
    Article("Sports Shoes", "Footwear", "Shoes", "Sports Shoes", 14, draw_sports_shoe,
            {"Men": 60, "Women": 30, "Unisex": 10},
            ("Black", "White", "Grey", "Blue", "Navy Blue", "Red", "Orange", "Green", "Pink", "Teal", "Turquoise Blue"),
            ("solid",), (("Running", ""), ("Training", ""), ("Walking", "")), ("Sports",), SPORTS),
    Article("Formal Shoes", "Footwear", "Shoes", "Formal Shoes", 8, draw_formal_shoe, {"Men": 100},
            ("Black", "Black", "Brown", "Tan", "Maroon"), ("solid",),
            (("Leather Oxford", ""), ("Leather Derby", ""), ("Leather", "")), ("Formal",), FOOTWEAR),
    Article("Heels", "Footwear", "Shoes", "Heels", 10, draw_heels, {"Women": 100},
            ("Black", "Red", "Beige", "Pink", "Gold", "Silver", "Navy Blue", "Tan", "Maroon"), ("solid",),
            (("Stiletto", "stiletto"), ("Block", "block"), ("Pointed Toe", "stiletto")), ("Party", "Casual", "Formal"),
            FOOTWEAR),
    Article("Flats", "Footwear", "Shoes", "Flats", 8, draw_flats, {"Women": 90, "Girls": 10},
            ("Black", "Pink", "Beige", "Red", "Gold", "Tan", "Navy Blue", "Peach", "Silver"), ("solid",),
            (("Ballerina", "bow"), ("Embellished", "studs")), ("Casual", "Ethnic"), FOOTWEAR),
    Article("Sandals", "Footwear", "Sandal", "Sandals", 8, draw_sandals, {"Men": 50, "Women": 50},
            ("Black", "Brown", "Tan", "Navy Blue", "Olive", "Grey"), ("solid",),
            (("Strappy", ""), ("Leather", ""), ("Sports", "")), ("Casual",), FOOTWEAR, WARM),
    Article("Flip Flops", "Footwear", "Flip Flops", "Flip Flops", 8, draw_flip_flops,
            {"Men": 50, "Women": 35, "Unisex": 15},
            ("Black", "Blue", "Navy Blue", "Red", "Yellow", "Pink", "Green", "Orange", "Grey", "Turquoise Blue"),
            ("solid", "solid", "striped", "printed"), (("", ""),), ("Casual",), FOOTWEAR, WARM),
    Article("Watches", "Accessories", "Watches", "Watch", 12, draw_watch, {"Men": 55, "Women": 40, "Unisex": 5},
            ("Black", "Brown", "Tan", "Navy Blue", "White", "Pink", "Maroon", "Red"), ("solid",),
            (("Leather Analog", "leather"), ("Leather Chronograph", "leather-chrono"), ("Analog", "leather")),
            ("Casual", "Formal"), WATCHMAKERS),
    Article("Watches", "Accessories", "Watches", "Watch", 8, draw_watch, {"Men": 55, "Women": 40, "Unisex": 5},
            ("Silver", "Silver", "Gold"), ("solid",),
            (("Stainless Steel Analog", "metal"), ("Chronograph", "metal-chrono")), ("Formal", "Casual"), WATCHMAKERS),
    Article("Handbags", "Accessories", "Bags", "Handbag", 14, draw_handbag, {"Women": 100},
            ("Black", "Brown", "Tan", "Red", "Beige", "Maroon", "Pink", "Navy Blue", "Cream", "Mustard", "Olive"),
            ("solid", "solid", "solid", "printed"), (("Tote", "tote"), ("Satchel", "satchel"), ("Textured", "tote")),
            ("Casual", "Party"), BAGS),
    Article("Backpacks", "Accessories", "Bags", "Backpack", 8, draw_backpack, {"Unisex": 60, "Men": 25, "Women": 15},
            ("Black", "Navy Blue", "Grey", "Red", "Blue", "Olive", "Teal", "Maroon"), ("solid", "solid", "checked"),
            (("Laptop", ""), ("Casual", ""), ("Training", "")), ("Casual",), BAGS + SPORTS[:2]),
    Article("Sunglasses", "Accessories", "Eyewear", "Sunglasses", 12, draw_sunglasses,
            {"Men": 45, "Women": 35, "Unisex": 20}, ("Black", "Black", "Brown", "Gold", "Silver", "Maroon", "Tan"),
            ("solid",), (("Aviator", "aviator"), ("Square", "square"), ("Round", "round"), ("Cat-Eye", "cateye")),
            ("Casual",), EYEWEAR, WARM),
    Article("Caps", "Accessories", "Headwear", "Cap", 6, draw_cap, {"Men": 50, "Unisex": 40, "Boys": 10},
            ("Black", "Navy Blue", "Red", "White", "Grey", "Olive", "Blue"), ("solid", "solid", "solid", "checked"),
            (("Baseball", ""), ("Sports", "")), ("Casual", "Sports"), SPORTS + APPAREL[:2], WARM),
    Article("Belts", "Accessories", "Belts", "Belt", 8, draw_belt, {"Men": 75, "Women": 25},
            ("Black", "Brown", "Tan", "Navy Blue", "Maroon"), ("solid",),
            (("Leather", ""), ("Reversible", ""), ("Textured", "")), ("Casual", "Formal"), LEATHER),
    Article("Wallets", "Accessories", "Wallets", "Wallet", 8, draw_wallet, {"Men": 80, "Women": 20},
            ("Black", "Brown", "Tan", "Maroon", "Navy Blue"), ("solid",),
            (("Leather Bi-Fold", ""), ("Leather", ""), ("Textured", "")), ("Casual", "Formal"), LEATHER),
    Article("Socks", "Accessories", "Socks", "Socks", 6, draw_socks, {"Men": 60, "Women": 20, "Unisex": 20},
            ("Black", "Grey", "Navy Blue", "White", "Red", "Blue", "Maroon"), ("solid", "striped", "striped", "polka"),
            (("Pack of 2", ""), ("Crew-Length", "")), ("Casual", "Sports"), SPORTS + KNITWEAR[:1]),
    Article("Ties", "Accessories", "Ties", "Tie", 6, draw_tie, {"Men": 100},
            ("Navy Blue", "Maroon", "Black", "Blue", "Red", "Grey", "Purple", "Green"), ("striped", "striped",
                                                                                         "polka", "checked", "solid"),
            (("Silk", ""), ("Slim", ""), ("Woven", "")), ("Formal",), KNITWEAR + ("Ashgrove",)),
    Article("Scarves", "Accessories", "Scarves", "Scarf", 6, draw_scarf, {"Women": 70, "Unisex": 20, "Men": 10},
            ("Red", "Maroon", "Grey", "Beige", "Navy Blue", "Mustard", "Pink", "Teal", "Cream"),
            ("checked", "striped", "printed", "floral", "solid"), (("Woollen", ""), ("Cotton", ""), ("", "")),
            ("Casual",), KNITWEAR, COLD),
)


@dataclass
class Product:
    row: dict
    article: Article
    variant: str
    pattern: str


def weighted(r, weights):
    return r.choices(list(weights), weights=list(weights.values()))[0]


def make_products(r):
    """Draw the catalog rows, shuffled like the real data set, with ids from FIRST_ID."""
    products = []
    for art in ARTICLES:
        for _ in range(art.count):
            gender = weighted(r, art.genders)
            colour = r.choice(art.colours)
            pat = r.choice(art.patterns)
            descriptor, variant = r.choice(art.styles)
            textile = len(set(art.patterns)) > 1
            pat_word = PATTERN_WORDS[pat] if textile and (pat != "solid" or r.random() < 0.35) else ""
            brand = r.choice(KIDS if gender in ("Boys", "Girls") and art.master == "Apparel" else art.brands)
            name = " ".join(w for w in (brand, gender, colour, descriptor, pat_word, art.noun) if w)
            row = {"gender": gender, "masterCategory": art.master, "subCategory": art.sub,
                   "articleType": art.article_type, "baseColour": colour, "season": r.choice(art.seasons),
                   "year": r.choices(range(2010, 2019), weights=(3, 6, 9, 8, 4, 3, 4, 5, 3))[0],
                   "usage": r.choice(art.usages), "productDisplayName": name}
            products.append(Product(row, art, variant, pat))
    r.shuffle(products)
    for i, p in enumerate(products):
        p.row = {"id": str(FIRST_ID + i), **p.row}
    return products


def render(product):
    """Draw one product and compose it like a catalog shot: centred on a light background."""
    r = random.Random(SEED * 1_000_003 + int(product.row["id"]))
    base = COLOURS[product.row["baseColour"]]
    colour = tuple(max(0, min(255, round(c * r.uniform(0.94, 1.04)))) for c in base)
    accent_options = [a for a in ACCENTS if abs(luminance(COLOURS[a]) - luminance(base)) > 0.3]
    look = Look(colour, COLOURS[r.choice(accent_options)], product.pattern, product.variant, r)
    cv = Canvas()
    product.article.draw(cv, look, r)

    obj = cv.img.crop(cv.img.getbbox()).convert("RGBa")
    k = S * r.uniform(0.78, 0.86) / max(obj.size)
    obj = obj.resize((round(obj.width * k), round(obj.height * k)), Image.LANCZOS)
    obj = obj.rotate(r.uniform(-3, 3), Image.BICUBIC, expand=True).convert("RGBA")
    layer = Image.new("RGBA", (S, S), (0, 0, 0, 0))
    layer.paste(obj, ((S - obj.width) // 2 + r.randint(-6, 6), (S - obj.height) // 2 + r.randint(-6, 6)))

    grey = 255 if r.random() < 0.7 else r.randint(244, 250)
    shot = Image.new("RGBA", (S, S), (grey, grey, grey, 255))
    shadow = Image.new("RGBA", (S, S), (60, 60, 60, 0))
    shadow.putalpha(layer.getchannel("A").filter(ImageFilter.GaussianBlur(9)).point(lambda v: v * 30 // 255))
    shot.alpha_composite(shadow, (0, 8))
    shot.alpha_composite(layer)
    return shot.convert("RGB").resize((SIZE, SIZE), Image.LANCZOS)


def main():
    products = make_products(random.Random(SEED))
    images = HERE / "images"
    images.mkdir(exist_ok=True)
    for old in images.glob("*.jpg"):
        old.unlink()
    with open(HERE / "styles.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        for p in products:
            writer.writerow(p.row)
    for p in products:
        render(p).save(images / f"{p.row['id']}.jpg", quality=85, optimize=True)
    print(f"wrote {len(products)} products to {HERE}")


if __name__ == "__main__":
    main()
