"""The third-person camera (quadgym.envs.quad.sensors.view) and the onboard pictures
(quadgym.envs.quad.sensors.pictures): framing keeps every drone in the image, projected points
land where PyBullet draws them, trails hide behind what stands in front, colour maps and
picture sizes are as documented."""

import math

import numpy as np
import pybullet as p
import pytest

from quadgym.envs.quad.sensors import view
from quadgym.envs.quad.sensors.camera import CameraModel
from quadgym.envs.quad.sensors.pictures import (
    GAP,
    SKY,
    OnboardRecorder,
    Spread,
    colour_depth,
    colour_seg,
    panel,
    strip,
)
from quadgym.envs.quad.sensors.view import PALETTE, Shot, ThirdPerson, WorldCamera, draw_line, frame
from quadgym.envs.quad.sim.dynamics import State
from quadgym.envs.quad.sim.models import get_model
from quadgym.envs.quad.sim.scene import SEG_DRONE, SEG_GROUND, SEG_NOTHING, SEG_TARGET
from quadgym.envs.quad.sim.world import World


@pytest.fixture(scope="module")
def world():
    w = World(get_model("cf2x"), 2)
    yield w
    w.close()


def pybullet_pixels(shot: Shot, points: np.ndarray) -> np.ndarray:
    """(k, 2) (column, row) of ``points`` through PyBullet's own matrices, projected here
    independently of Shot.project."""
    view_m = p.computeViewMatrixFromYawPitchRoll(
        list(shot.target), shot.distance, shot.yaw, shot.pitch, 0.0, 2
    )
    proj = p.computeProjectionMatrixFOV(shot.fov, shot.width / shot.height, view.NEAR, shot.far)
    m = np.array(proj).reshape(4, 4).T @ np.array(view_m).reshape(4, 4).T
    clip = np.c_[points, np.ones(len(points))] @ m.T
    ndc = clip[:, :2] / clip[:, 3:]
    return np.c_[(ndc[:, 0] + 1) * shot.width / 2, (1 - ndc[:, 1]) * shot.height / 2]


SWARMS = {
    # 16 drones over 8 m x 5 m, 0.2-3 m up
    "spread": np.c_[
        np.tile(np.linspace(-4, 4, 4), 4),
        np.repeat(np.linspace(-2.5, 2.5, 4), 4),
        np.linspace(0.2, 3.0, 16),
    ],
    "tight": np.array([[1.0, 1.0, 1.0], [1.1, 1.0, 1.05], [1.0, 1.1, 0.95], [1.05, 1.05, 1.0]]),
    "one, high": np.array([[-3.0, 2.0, 6.0]]),
    "300 m apart": np.array([[-150.0, 0.0, 1.0], [150.0, 10.0, 20.0]]),  # beyond FAR = 100 m
}


@pytest.mark.parametrize("name", SWARMS)
@pytest.mark.parametrize(
    "size, yaw, pitch", [((320, 240), 30.0, -35.0), ((240, 320), -120.0, -60.0)]
)
def test_framing_puts_every_drone_inside_the_image(name, size, yaw, pitch):
    pos = SWARMS[name]
    points = np.r_[pos, pos * [1, 1, 0]]  # the drones and the feet of their drop lines
    shot = ThirdPerson(*size, yaw=yaw, pitch=pitch).follow(points)
    px = pybullet_pixels(shot, points)
    _, depth = shot.project(points)
    assert (depth > view.NEAR).all() and (depth < shot.far).all()  # between the planes
    margin = 0.05 * min(size)
    assert (px[:, 0] > margin).all() and (px[:, 0] < size[0] - margin).all()
    assert (px[:, 1] > margin).all() and (px[:, 1] < size[1] - margin).all()
    if name != "tight":  # and not from afar: the points span a third of the image
        span = np.ptp(px, axis=0) / size
        assert span.max() > 0.25


def test_a_tight_swarm_is_filmed_from_the_smallest_radius():
    """Points within MIN_RADIUS - PAD of their middle: distance = MIN_RADIUS / sin(FILL·25°)
    at a vertical field of view of 50° onto a 4:3 image (the vertical half is the smaller)."""
    centre, distance = frame(SWARMS["tight"], fov=50.0, aspect=4 / 3)
    np.testing.assert_allclose(centre, [1.05, 1.05, 1.0])
    assert distance == pytest.approx(0.5 / math.sin(0.9 * math.radians(25.0)))
    # a portrait image: the horizontal half field of view is the smaller one
    _, tall = frame(SWARMS["tight"], fov=50.0, aspect=0.5)
    half_h = math.atan(math.tan(math.radians(25.0)) * 0.5)
    assert tall == pytest.approx(0.5 / math.sin(0.9 * half_h))


def test_a_followed_swarm_stays_in_the_image_while_it_moves_and_spreads():
    """The aim lags behind the swarm, yet no frame loses a drone: the distance is never
    below what the points need about the lagging aim."""
    cam = ThirdPerson(320, 240)
    rng = np.random.default_rng(0)
    start = rng.uniform(-0.3, 0.3, (6, 3)) + [0, 0, 1]
    for k in range(60):  # flies 6 m along x while spreading to 4x, then contracts again
        grow = 1 + 3 * math.sin(math.pi * k / 59)
        pos = start * [grow, grow, 1] + [0.1 * k, 0.0, 0.02 * k]
        shot = cam.follow(pos)
        px = pybullet_pixels(shot, pos)
        assert (px > 0).all() and (px[:, 0] < 320).all() and (px[:, 1] < 240).all(), k


def test_projected_points_land_where_pybullet_draws_a_marker(world):
    """Small spheres rendered by TinyRenderer: the centre of each one's segmentation
    pixels lies within a pixel of Shot.project (and of the drawn trail point)."""
    world.reset(State.at_rest(np.array([[20.0, 20.0, 0.1], [21.0, 20.0, 0.1]])))
    points = np.array([[0.0, 0.0, 0.5], [0.6, -0.4, 1.0], [-0.5, 0.3, 0.2]])
    cid = world.client
    visual = p.createVisualShape(p.GEOM_SPHERE, radius=0.03, physicsClientId=cid)
    bodies = [p.createMultiBody(0, -1, visual, pt.tolist(), physicsClientId=cid) for pt in points]
    try:
        shot = Shot((0.0, 0.0, 0.5), 2.5, 30.0, -35.0, 50.0, 320, 240)
        v, pr = shot.matrices
        _, _, _, _, seg = p.getCameraImage(
            320, 240, v, pr, renderer=p.ER_TINY_RENDERER, physicsClientId=cid
        )
        seg = np.reshape(seg, (240, 320))
        projected, depth = shot.project(points)
        assert (depth > 0).all()
        np.testing.assert_allclose(projected, pybullet_pixels(shot, points), atol=1e-3)
        for body, (c, r) in zip(bodies, projected, strict=True):
            rows, cols = np.nonzero(seg == body)
            assert len(rows) > 4
            # pixel (r, c) covers [c, c+1) x [r, r+1): its centre is at c + 0.5
            assert abs(cols.mean() + 0.5 - c) < 1.0 and abs(rows.mean() + 0.5 - r) < 1.0
            image = np.zeros((240, 320, 3), np.float32)
            far = np.full((240, 320), view.FAR)
            point = points[bodies.index(body)]
            draw_line(image, far, shot, np.array([point, point]), np.full(3, 255.0), 1.0, 1)
            (drawn_r, drawn_c) = np.nonzero(image[:, :, 0])
            assert list(zip(drawn_r, drawn_c, strict=True)) == [(int(r), int(c))]
    finally:
        for body in bodies:
            p.removeBody(body, physicsClientId=cid)


def test_a_trail_behind_a_wall_is_hidden_and_one_in_front_is_drawn(world):
    world.reset(State.at_rest(np.array([[20.0, 20.0, 0.1], [21.0, 20.0, 0.1]])))
    cid = world.client
    # yaw -90°: the camera stands on -x and looks along +x, 10° down
    shot = Shot((0.0, 0.0, 0.5), 3.0, -90.0, -10.0, 50.0, 320, 240)
    box = p.createVisualShape(p.GEOM_BOX, halfExtents=[0.02, 1, 1], physicsClientId=cid)
    wall = p.createMultiBody(0, -1, box, [0.0, 0.0, 0.5], physicsClientId=cid)
    try:
        image, depth = shot.render(cid)
        centre_depth = depth[120, 160]
        assert centre_depth == pytest.approx(3.0 - 0.02 / math.cos(math.radians(10)), abs=0.02)
        out = np.zeros_like(image, dtype=np.float32)
        behind = np.array([[0.5, -0.1, 0.5], [0.5, 0.1, 0.5]])  # 0.5 m past the wall
        draw_line(out, depth, shot, behind, np.full(3, 255.0), 1.0, 1)
        assert not out.any()
        front = behind - [1.0, 0.0, 0.0]
        draw_line(out, depth, shot, front, np.full(3, 255.0), 1.0, 1)
        assert out.any()
    finally:
        p.removeBody(wall, physicsClientId=cid)


def test_world_render_follows_the_drones_and_a_reset_clears_the_trails(world):
    camera = WorldCamera(world)
    world.reset(State.at_rest(np.array([[5.0, 5.0, 1.0], [6.0, 5.0, 2.0]])))
    for _ in range(3):
        image = camera.render(160, 120, set_points=[[5.0, 5.0, 1.5], [6.0, 5.0, 1.5]])
    assert image.shape == (120, 160, 3) and image.dtype == np.uint8
    assert len(camera._view.trails) == 3
    shot = camera._view.follow(world.get_state().pos)
    px = pybullet_pixels(shot, world.get_state().pos)
    assert ((px > 0) & (px < [160, 120])).all()
    # each drone's ring is drawn in its colour
    for i in range(2):
        assert (np.abs(image.astype(int) - PALETTE[i]).sum(axis=2) < 30).any()
    world.reset(State.at_rest(np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 1.0]])))
    camera.render(160, 120)  # the first frame of a new episode: its own point alone
    assert len(camera._view.trails) == 1
    fixed = camera.render(160, 120, target=(0, 0, 0.5), distance=3.0)
    assert fixed.shape == (120, 160, 3)
    with pytest.raises(ValueError, match="distance"):
        camera.render(distance=-1.0)
    with pytest.raises(ValueError, match="pitch"):
        camera.render(pitch=10.0)
    with pytest.raises(
        ValueError, match=r"set_points must be \(2, 3\) points, m, got shape \(3,\)"
    ):
        camera.render(set_points=[0.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="target must be finite"):
        camera.render(target=(0.0, float("nan"), 1.0))


def test_depth_and_segmentation_colours():
    model = CameraModel(near=0.1, far=20.0)
    depth = np.array([[[0.1], [20.0], [19.9997], [math.sqrt(0.1 * 20.0)]]], np.float32)
    rgb = colour_depth(depth, model)
    from matplotlib import colormaps

    viridis = (np.array(colormaps["viridis_r"]([0.0, 0.5])[:, :3]) * 255).round()
    np.testing.assert_array_equal(rgb[0, 0], viridis[0])  # near: the map's start
    np.testing.assert_array_equal(rgb[0, 1], SKY)  # nothing hit: the sky
    np.testing.assert_array_equal(rgb[0, 2], SKY)  # the z-buffer's far
    np.testing.assert_allclose(rgb[0, 3], viridis[1], atol=2)  # the geometric middle: 0.5
    ids = np.array([[[SEG_NOTHING], [SEG_GROUND], [SEG_TARGET], [SEG_DRONE], [SEG_DRONE + 1]]])
    seg = colour_seg(np.concatenate([ids, [[[SEG_DRONE + 2]] * 5]], axis=1), num_drones=2)
    assert seg[0, :5].tolist() == [SKY.tolist(), [150] * 3, [230, 25, 25], *PALETTE[:2].tolist()]
    assert seg[0, 5].tolist() == [40, 110, 50]  # the first other body: a green


def test_panels_and_strips_have_the_documented_size():
    """64x48 images scale by 2 to 128x96 tiles: a panel of 2 drones is 3·128 = 384 wide
    and 288 + 2·(96 + GAP) tall; 3 panels side by side are 3·384 + 2·GAP wide."""
    model = CameraModel()
    images = {
        "rgb": np.zeros((2, 48, 64, 3), np.uint8),
        "depth": np.full((2, 48, 64, 1), 5.0, np.float32),
        "seg": np.ones((2, 48, 64, 1), np.int32),
    }
    pic = panel(np.zeros((288, 384, 3), np.uint8), images, model, "t = 0 s")
    assert pic.shape == (288 + 2 * (96 + GAP), 384, 3) == (484, 384, 3)
    assert strip([pic] * 3).shape == (484, 3 * 384 + 2 * GAP, 3)
    # odd sizes are padded to even ones (video encoders need them)
    odd = CameraModel(width=63, height=47)
    small = {k: v[:, :47, :63] for k, v in images.items()}
    # 3 parts of 63 px scaled by 3 (the smallest factor reaching 128): 567 wide; rows
    # 3·47 = 141 tall: 425 + 2·(141 + 2) = 711 tall; both padded by one
    pic = panel(np.zeros((425, 567, 3), np.uint8), small, odd)
    assert pic.shape == (712, 568, 3)
    with pytest.raises(ValueError, match="566 px wide; a row of 3 tiles is 567 px"):
        panel(np.zeros((425, 566, 3), np.uint8), small, odd)


def test_the_sky_is_painted_in_the_panel_not_in_what_the_policy_sees():
    """Before: the sky was white in all three tiles, half of every onboard picture of a
    level flight (issue 34, friction 9). Now every tile shows SKY where the segmentation
    says nothing was hit, and the rgb observation itself is unchanged."""
    model = CameraModel()
    rgb = np.full((1, 48, 64, 3), 255, np.uint8)  # TinyRenderer's white sky ...
    rgb[:, 24:] = 90  # ... over a grey ground
    seg = np.full((1, 48, 64, 1), SEG_GROUND, np.int32)
    seg[:, :24] = SEG_NOTHING
    depth = np.where(seg == SEG_NOTHING, model.far, 3.0).astype(np.float32)
    images = {"rgb": rgb, "depth": depth, "seg": seg}
    before = rgb.copy()
    row = panel(np.zeros((288, 384, 3), np.uint8), images, model)[288 + GAP :]
    for k in range(3):
        tile = row[:, k * 128 : (k + 1) * 128]
        assert (tile[20:48] == SKY).all(), k  # below the label, above the horizon (row 24·2)
        assert not (tile[48:] == SKY).all(axis=-1).any(), k  # the ground: no sky
    assert (row[48:, :128] == 90).all()  # the rgb ground as rendered
    np.testing.assert_array_equal(rgb, before)  # the observation is not touched


def test_spread_keeps_evenly_spaced_items_of_a_long_stream():
    for n, k in [(1, 6), (5, 6), (6, 6), (100, 6), (1000, 6), (77, 3)]:
        keep = Spread(k)
        for i in range(n):
            keep.add(i)
        picked = keep.pick()
        assert picked[0] == 0 and picked[-1] == n - 1 and len(picked) == min(n, k)
        ideal = np.linspace(0, n - 1, min(n, k))
        assert np.abs(np.array(picked) - ideal).max() <= (n - 1) / (4 * k) + 1
        assert len(keep.kept) <= 4 * k + 1  # bounded memory


def test_the_recorder_writes_a_strip_and_a_video(world, tmp_path):
    import imageio.v2 as imageio

    world.reset(State.at_rest(np.array([[0.0, 0.0, 1.0], [0.5, 0.0, 1.2]])))
    rec = OnboardRecorder(world, CameraModel(), frames=2, video=tmp_path / "v.mp4", fps=10)
    state = world.get_state()
    for k in range(3):
        rec.record(state, 0.1 * k, state.pos + [0.0, 0.0, 0.1])
    rec.close()
    rec.close()
    assert rec.recorded == 3
    path = rec.write_strip(tmp_path / "s.png")
    assert imageio.imread(path).shape == (288 + 2 * (96 + GAP), 2 * 384 + GAP, 3)
    assert imageio.mimread(tmp_path / "v.mp4")[0].shape == (484, 384, 3)
    assert len(imageio.mimread(tmp_path / "v.mp4")) == 3
    with pytest.raises(ValueError, match="frames"):
        OnboardRecorder(world, CameraModel(), frames=0)
    with pytest.raises(RuntimeError, match="no panel"):
        OnboardRecorder(world, CameraModel()).strip()
