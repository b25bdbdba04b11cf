"""PyBullet bodies of the scene: the ground plane with its gridded texture and the shapes
of scene bodies (boxes, or one fine-meshed sphere or cylinder). The one module of the scene
that calls PyBullet; what the shapes are (sizes, meshes, segmentation ids, obstacles) is
:mod:`quadgym.envs.quad.sim.scene`'s, which NumPy alone can read."""

from __future__ import annotations

import pybullet as p

from quadgym.envs.quad.sim.scene import GROUND_HALF, SHAPES, ground_texture_file, mesh


def add_ground(client: int) -> int:
    """The ground in PyBullet client ``client``: an infinite collision plane at z = 0,
    drawn as a textured quad of ``2·GROUND_HALF`` m; returns its body id."""
    half = GROUND_HALF
    corners = [[-half, -half, 0.0], [half, -half, 0.0], [half, half, 0.0], [-half, half, 0.0]]
    uvs = [[0.0, 0.0], [2 * half, 0.0], [2 * half, 2 * half], [0.0, 2 * half]]
    shape = p.createCollisionShape(p.GEOM_PLANE, physicsClientId=client)
    visual = p.createVisualShape(
        p.GEOM_MESH,
        vertices=corners,
        indices=[0, 1, 2, 0, 2, 3],
        uvs=uvs,
        normals=[[0.0, 0.0, 1.0]] * 4,
        physicsClientId=client,
    )
    body = p.createMultiBody(0, shape, visual, physicsClientId=client)
    texture = p.loadTexture(ground_texture_file(), physicsClientId=client)
    p.changeVisualShape(body, -1, textureUniqueId=texture, physicsClientId=client)
    return body


def make_shapes(client: int, shapes: list[tuple[str, tuple, tuple]], rgba: tuple) -> tuple:
    """(collision shape, visual shape) ids in PyBullet client ``client`` of a body made
    of ``shapes``, each (kind, size, centre in the body frame (3,)): ``"box"`` size =
    half extents (3,), ``"cylinder"`` (radius, half length) along z, ``"sphere"``
    (radius,), m, coloured ``rgba``. Boxes may be combined; a sphere or a cylinder
    stands alone and is drawn as a fine mesh (:func:`mesh`: PyBullet's own round
    visuals are coarse), its collision shape exact.

    Raises:
        ValueError: an unknown kind, a size of the wrong length, or a round shape
            among others (checked before anything is made).
    """
    for kind, size, _ in shapes:
        if kind not in SHAPES or len(size) != SHAPES[kind]:
            raise ValueError(
                f"shape ({kind!r}, {size!r}): kinds and sizes are box (3 half extents), "
                "cylinder (radius, half length), sphere (radius,)"
            )
    round_ = any(kind != "box" for kind, _, _ in shapes)
    if round_ and len(shapes) > 1:
        raise ValueError("a body with a sphere or a cylinder must be that one shape")
    geom = {"box": p.GEOM_BOX, "cylinder": p.GEOM_CYLINDER, "sphere": p.GEOM_SPHERE}
    names = [kind for kind, _, _ in shapes]
    kinds = [geom[kind] for kind in names]
    sizes = [[float(x) for x in size] for _, size, _ in shapes]
    centres = [[float(x) for x in centre] for _, _, centre in shapes]
    pairs = list(zip(names, sizes, strict=True))
    halves = [s if kind == "box" else [0.0] * 3 for kind, s in pairs]
    radii = [0.0 if kind == "box" else s[0] for kind, s in pairs]
    lengths = [2 * s[1] if kind == "cylinder" else 0.0 for kind, s in pairs]
    collision = p.createCollisionShapeArray(
        kinds,
        radii=radii,
        halfExtents=halves,
        lengths=lengths,
        collisionFramePositions=centres,
        physicsClientId=client,
    )
    if round_:
        vertices, indices, normals = mesh(names[0], sizes[0])
        visual = p.createVisualShape(
            p.GEOM_MESH,
            vertices=vertices,
            indices=indices,
            normals=normals,
            rgbaColor=list(rgba),
            visualFramePosition=centres[0],
            physicsClientId=client,
        )
    else:
        visual = p.createVisualShapeArray(
            kinds,
            halfExtents=halves,
            visualFramePositions=centres,
            rgbaColors=[list(rgba)] * len(shapes),
            physicsClientId=client,
        )
    return collision, visual
