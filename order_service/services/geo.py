"""Distances and locating a shopper from coordinates or a ZIP code.

There is no ZIP database in the project: a ZIP is placed at the stores that share it, else at the
numerically nearest store ZIP with the same 3-digit prefix (the USPS sectional centre, a region of a
few dozen km), else at the numerically nearest store ZIP anywhere. The answer says which method was
used, so a caller can tell an exact match from an approximation.
"""

from __future__ import annotations

import bisect
import math
import re
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def normalise_zip(raw: str) -> str | None:
    """'55425', '55425-1234', '2062' (a lost leading zero) → 5 digits; anything else → None."""
    text = raw.strip()
    match = re.fullmatch(r"(\d{3,5})(?:-?\d{4})?", text)
    if not match:
        return None
    return match.group(1).zfill(5)


@dataclass(frozen=True)
class Located:
    lat: float
    lon: float
    method: str
    matched_zip: str | None = None


@dataclass(frozen=True)
class StorePoint:
    id: int
    lat: float
    lon: float
    zip: str


class StoreGeo:
    """In-memory index of store coordinates and ZIPs (1.5k stores: a sorted list is enough)."""

    def __init__(self, points: list[StorePoint]):
        self.points = points
        by_zip: dict[str, list[StorePoint]] = {}
        for point in points:
            if point.zip:
                by_zip.setdefault(point.zip, []).append(point)
        self._by_zip = {
            z: (sum(p.lat for p in ps) / len(ps), sum(p.lon for p in ps) / len(ps))
            for z, ps in by_zip.items()
        }
        self._zips = sorted(self._by_zip)
        self._zip_ints = [int(z) for z in self._zips]

    def locate_zip(self, raw: str) -> Located | None:
        zip5 = normalise_zip(raw)
        if zip5 is None or not self._zips:
            return None
        if zip5 in self._by_zip:
            lat, lon = self._by_zip[zip5]
            return Located(lat, lon, "store_zip", zip5)
        target = int(zip5)
        same_prefix = [z for z in self._zips if z[:3] == zip5[:3]]
        if same_prefix:
            best = min(same_prefix, key=lambda z: (abs(int(z) - target), z))
            lat, lon = self._by_zip[best]
            return Located(lat, lon, "zip_prefix", best)
        i = bisect.bisect_left(self._zip_ints, target)
        candidates = [j for j in (i - 1, i) if 0 <= j < len(self._zips)]
        best = min((self._zips[j] for j in candidates), key=lambda z: (abs(int(z) - target), z))
        lat, lon = self._by_zip[best]
        return Located(lat, lon, "nearest_zip", best)

    def by_distance(self, lat: float, lon: float, ids: set[int] | None = None) -> list[tuple[float, int]]:
        """(km, store id) nearest first, optionally restricted to `ids`."""
        rows = [
            (haversine_km(lat, lon, p.lat, p.lon), p.id) for p in self.points if ids is None or p.id in ids
        ]
        rows.sort()
        return rows
