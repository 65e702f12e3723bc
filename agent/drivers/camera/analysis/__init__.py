"""Camera analysis without I/O: numpy frames and their times in, typed results and changes out.

settings     the tuning, as plain data
image        per-frame measures (grey, sharpness, texture cells, uniformity)
baseline     the commissioning baseline and how it is made
alignment    where the view is relative to its reference (ORB + affine fit; phase correlation)
hysteresis   a condition that must hold a while to count, and be gone a while to clear
health       signal, frozen, covered, defocused, moved, scene changed
people       HOG people detector and the optional face cascade
occupancy    motion (MOG2) and the smoothed people count
analyser     all of it for one camera
"""
