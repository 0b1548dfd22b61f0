"""Scripted histories played through the real pipeline (outside the core packages).

``calibration``: the history that checks the simulated customers against the published figures
of the WhatsApp marketing guide, 2024 (``wamkt calibrate``, ``bench/calibration.py``).
"""
