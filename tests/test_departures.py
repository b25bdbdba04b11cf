"""scripts/measure_departures.py: each departure from gym-pybullet-drones, switched back
alone, changes the flight (so no row of docs/design.md's table measures a no-op), and the
unbounded downwash fit changes it most; the reference's ground and damping move a landed
drone's pose, and DSLPIDControl's mixer a saturated flight by metres."""

import json
import runpy
from pathlib import Path


def test_every_departure_switched_back_moves_the_flight(tmp_path):
    script = Path(__file__).resolve().parents[1] / "scripts" / "measure_departures.py"
    main = runpy.run_path(str(script))["main"]
    assert main(["--duration", "0.5", "--output", str(tmp_path / "d.json")]) == 0
    rows = json.loads((tmp_path / "d.json").read_text())["largest_distance_m"]
    assert len(rows) == 7 and min(rows.values()) > 1e-7
    downwash = rows.pop("unbounded downwash fit, 0.3 m (pyb_dw)")
    assert downwash > 0.01 and downwash > 10 * max(rows.values())
    record = json.loads((tmp_path / "d.json").read_text())
    landed = record["landed_pose"]
    assert min(pose["m"] for pose in landed.values()) > 1e-6
    assert landed["plane.urdf ground (pyb)"]["deg"] > 1e-3
    assert record["mixer_saturated_flight"]["largest_m"] > 0.1
