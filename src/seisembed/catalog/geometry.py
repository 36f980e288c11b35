"""Source-station geometry on a sphere, vectorised.

Distances in the arrivals table are epicentral distances on a sphere of radius
6371 km (ObsPy's :func:`obspy.geodetics.degrees2kilometers`), so that
``path_ep_distance_km = path_ep_distance_deg * 111.19`` exactly. The catalogue's
distance in degrees (ISC ``DIST``, QuakeML ``arrival.distance``) is kept where
present, missing ones are computed here. The back azimuth (station to event,
degrees clockwise from north) is always computed here from the coordinates.
"""

from __future__ import annotations

import numpy as np

#: kilometres per degree of arc on the 6371 km sphere (= degrees2kilometers(1))
KM_PER_DEG: float = 2.0 * np.pi * 6371.0 / 360.0


def epicentral_distance_deg(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great-circle distance (degrees) between points given in degrees (haversine)."""
    p1, l1, p2, l2 = (np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2))
    a = np.sin((p2 - p1) / 2.0) ** 2 + np.cos(p1) * np.cos(p2) * np.sin((l2 - l1) / 2.0) ** 2
    return np.degrees(2.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def azimuth_deg(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Azimuth (degrees clockwise from north, in [0, 360)) from point 1 towards point 2.

    The back azimuth of a station is ``azimuth_deg(station, event)``.
    """
    p1, l1, p2, l2 = (np.radians(np.asarray(v, dtype=float)) for v in (lat1, lon1, lat2, lon2))
    dl = l2 - l1
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return np.mod(np.degrees(np.arctan2(y, x)), 360.0)
