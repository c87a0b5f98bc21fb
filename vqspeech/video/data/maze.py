"""A first-person maze: a seeded, bit-exact, pure-numpy ray caster (a stand-in for DeepMind Lab).

The world is a grid of tiles (``0`` free, ``1..4`` a wall of one of four textures) carved by a seeded
depth-first search with a few extra openings.  The camera renders textured walls (DDA ray casting, one ray per
column), a checkered textured floor and a textured ceiling, with distance fog, at any even frame size (84 and 64
are the ones used).  Everything is numpy with IEEE basic arithmetic only: the headings come from a table of
``NUM_HEADINGS`` directions rounded to ``2**-30``, positions are rounded to ``2**-10`` tiles after each move, so
the same seed gives the same bytes on any machine.

Actions (:data:`ACTIONS`): ``noop``, ``forward``, ``back``, ``left`` / ``right`` (turn by one heading step),
``strafe_left``, ``strafe_right``.  ``actions[t]`` is taken after frame ``t`` and leads to frame ``t + 1``.

The recording agent walks along shortest paths (breadth-first search over tiles) to random goals, with a share
of random actions so that every action is seen in every kind of place.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

ACTIONS = ("noop", "forward", "back", "left", "right", "strafe_left", "strafe_right")
NUM_HEADINGS = 16
TEXTURE = 32
STEP = 0.25  # tiles per forward/back/strafe
RADIUS = 0.2  # the agent's collision radius in tiles
PLANE = 0.66  # camera plane half-width (about 66 degrees of horizontal field of view)
_Q_DIR = 2.0**30
_Q_POS = 2.0**10

_angles = 2 * np.pi * np.arange(NUM_HEADINGS) / NUM_HEADINGS
# Rounded so that the last bits of the platform's cos/sin cannot change a single pixel.
DIRS = np.stack([np.round(np.cos(_angles) * _Q_DIR) / _Q_DIR, np.round(np.sin(_angles) * _Q_DIR) / _Q_DIR], 1)


def action_index(name: str) -> int:
    """The index of an action name (an unknown name is a ``ValueError`` listing the known ones)."""
    if name not in ACTIONS:
        raise ValueError(f"unknown action {name!r}; known actions: {', '.join(ACTIONS)}")
    return ACTIONS.index(name)


def make_grid(cells: int, rng: np.random.Generator, loops: float = 0.15) -> np.ndarray:
    """A maze of ``cells x cells`` rooms -> tiles ``int8 [2*cells+1, 2*cells+1]`` (0 free, 1..4 wall texture)."""
    n = 2 * cells + 1
    free = np.zeros((n, n), bool)
    seen = np.zeros((cells, cells), bool)
    stack = [(0, 0)]
    seen[0, 0] = True
    free[1, 1] = True
    while stack:
        r, c = stack[-1]
        nbrs = [(r + dr, c + dc) for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0))
                if 0 <= r + dr < cells and 0 <= c + dc < cells and not seen[r + dr, c + dc]]
        if not nbrs:
            stack.pop()
            continue
        nr, nc = nbrs[int(rng.integers(len(nbrs)))]
        seen[nr, nc] = True
        free[2 * nr + 1, 2 * nc + 1] = True
        free[r + nr + 1, c + nc + 1] = True
        stack.append((nr, nc))
    # Extra openings make loops (several routes between places), as in DM-Lab's mazes.
    for r in range(1, n - 1):
        for c in range(1, n - 1):
            if not free[r, c] and (r % 2) != (c % 2) and rng.random() < loops:
                free[r, c] = True
    walls = rng.integers(1, 5, size=(n, n)).astype(np.int8)
    return np.where(free, 0, walls).astype(np.int8)


def make_textures(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(walls uint8 [5, 32, 32, 3], floors uint8 [2, 32, 32, 3], ceiling uint8 [32, 32, 3])``; wall 0 unused.

    Integer arithmetic on a seeded generator only (bit-exact)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:TEXTURE, 0:TEXTURE]
    base = np.array([[0, 0, 0], [170, 70, 50], [60, 110, 170], [80, 150, 70], [190, 170, 80]], np.int32)
    walls = np.zeros((5, TEXTURE, TEXTURE, 3), np.uint8)
    for k in range(1, 5):
        noise = rng.integers(-18, 19, size=(TEXTURE, TEXTURE, 1))
        if k % 2:  # bricks
            row = y // 8
            mortar = (y % 8 == 0) | (((x + 8 * (row % 2)) % 16) == 0)
        else:  # panels with a stripe
            mortar = (x % 16 == 0) | (y % 16 == 0) | ((y // 4) % 4 == 1)
        col = base[k][None, None, :] + noise
        col = np.where(mortar[..., None], col // 2 + 40, col)
        walls[k] = np.clip(col, 0, 255).astype(np.uint8)
    floors = np.zeros((2, TEXTURE, TEXTURE, 3), np.uint8)
    for k, tone in enumerate(([120, 110, 100], [90, 85, 80])):
        noise = rng.integers(-12, 13, size=(TEXTURE, TEXTURE, 1))
        grout = (x % 16 == 0) | (y % 16 == 0)
        col = np.array(tone)[None, None, :] + noise - 30 * grout[..., None]
        floors[k] = np.clip(col, 0, 255).astype(np.uint8)
    noise = rng.integers(-10, 11, size=(TEXTURE, TEXTURE, 1))
    beams = (x % 32 < 3)
    ceiling = np.clip(np.array([150, 160, 185])[None, None, :] + noise - 50 * beams[..., None], 0, 255)
    return walls, floors, ceiling.astype(np.uint8)


_TEX = make_textures()


def render(grid: np.ndarray, x: float, y: float, heading: int, size: int = 84) -> np.ndarray:
    """The view from ``(x, y)`` (tile units; column ``x``, row ``y``) facing ``DIRS[heading]`` ->
    ``uint8 [size, size, 3]``."""
    if size < 8 or size % 2:
        raise ValueError(f"frame size must be an even number >= 8, not {size}")
    walls, floors, ceiling = _TEX
    dx, dy = DIRS[heading % NUM_HEADINGS]
    px_, py_ = -dy * PLANE, dx * PLANE
    camx = (2.0 * (np.arange(size) + 0.5) / size) - 1.0
    rx = dx + px_ * camx
    ry = dy + py_ * camx
    with np.errstate(divide="ignore"):
        ddx = np.where(rx == 0, 1e30, np.abs(1.0 / np.where(rx == 0, 1.0, rx)))
        ddy = np.where(ry == 0, 1e30, np.abs(1.0 / np.where(ry == 0, 1.0, ry)))
    mx = np.full(size, int(np.floor(x)), np.int64)
    my = np.full(size, int(np.floor(y)), np.int64)
    sx = np.where(rx < 0, -1, 1)
    sy = np.where(ry < 0, -1, 1)
    sdx = np.where(rx < 0, (x - mx) * ddx, (mx + 1.0 - x) * ddx)
    sdy = np.where(ry < 0, (y - my) * ddy, (my + 1.0 - y) * ddy)
    hit = np.zeros(size, bool)
    side = np.zeros(size, np.int64)
    h, w = grid.shape
    for _ in range(2 * (h + w)):
        go_x = sdx < sdy
        adv = ~hit
        mx = np.where(adv & go_x, mx + sx, mx)
        my = np.where(adv & ~go_x, my + sy, my)
        side = np.where(adv, np.where(go_x, 0, 1), side)
        sdx = np.where(adv & go_x, sdx + ddx, sdx)
        sdy = np.where(adv & ~go_x, sdy + ddy, sdy)
        inside = (mx >= 0) & (mx < w) & (my >= 0) & (my < h)
        cell = np.where(inside, grid[np.clip(my, 0, h - 1), np.clip(mx, 0, w - 1)], 1)
        hit |= cell > 0
        if hit.all():
            break
    perp = np.where(side == 0, sdx - ddx, sdy - ddy)
    perp = np.maximum(perp, 1e-3)
    tex_id = grid[np.clip(my, 0, h - 1), np.clip(mx, 0, w - 1)].astype(np.int64)
    tex_id = np.where(tex_id > 0, tex_id, 1)
    wall_u = np.where(side == 0, y + perp * ry, x + perp * rx)
    wall_u = wall_u - np.floor(wall_u)
    tu = np.clip((wall_u * TEXTURE).astype(np.int64), 0, TEXTURE - 1)
    line = size / perp
    top = size / 2.0 - line / 2.0
    rows = (np.arange(size) + 0.5)[:, None]
    tv = np.clip(((rows - top[None, :]) / line[None, :] * TEXTURE).astype(np.int64), 0, TEXTURE - 1)
    is_wall = (rows >= top[None, :]) & (rows < (top + line)[None, :])
    cols = np.broadcast_to(np.arange(size)[None, :], (size, size))
    wall_rgb = walls[tex_id[cols], tv, tu[cols]].astype(np.float64)
    wall_rgb = wall_rgb * np.where(side == 1, 0.75, 1.0)[None, :, None]
    wall_dist = np.broadcast_to(perp[None, :], (size, size))
    # Floor (lower half) and ceiling (upper half): the distance of each screen row on the ground plane.
    denom = np.abs(2.0 * rows - size)
    row_dist = np.broadcast_to(size / denom, (size, size))
    fx = x + row_dist * rx[None, :]
    fy = y + row_dist * ry[None, :]
    fu = np.clip(((fx - np.floor(fx)) * TEXTURE).astype(np.int64), 0, TEXTURE - 1)
    fv = np.clip(((fy - np.floor(fy)) * TEXTURE).astype(np.int64), 0, TEXTURE - 1)
    checker = ((np.floor(fx) + np.floor(fy)).astype(np.int64)) % 2
    lower = np.broadcast_to(rows >= size / 2.0, (size, size))
    ground = np.where(lower[..., None], floors[checker, fv, fu], ceiling[fv, fu]).astype(np.float64)
    rgb = np.where(is_wall[..., None], wall_rgb, ground)
    dist = np.where(is_wall, wall_dist, row_dist)
    fog = 1.0 / (1.0 + 0.08 * dist)
    return np.clip(rgb * fog[..., None] + 12.0 * (1.0 - fog[..., None]), 0, 255).astype(np.uint8)


@dataclass
class MazeState:
    x: float
    y: float
    heading: int


class MazeWorld:
    """One maze and the agent in it.  ``step(action)`` moves the agent; ``render(size)`` draws its view."""

    def __init__(self, grid: np.ndarray, state: MazeState) -> None:
        self.grid, self.state = grid, state

    @classmethod
    def from_seed(cls, seed: int, cells: int = 6) -> MazeWorld:
        """A maze from ``seed`` with the agent at a seeded free tile's centre and heading."""
        rng = np.random.default_rng(seed)
        grid = make_grid(cells, rng)
        free = np.argwhere(grid == 0)
        r, c = free[int(rng.integers(len(free)))]
        return cls(grid, MazeState(c + 0.5, r + 0.5, int(rng.integers(NUM_HEADINGS))))

    def render(self, size: int = 84) -> np.ndarray:
        return render(self.grid, self.state.x, self.state.y, self.state.heading, size)

    def _free(self, x: float, y: float) -> bool:
        h, w = self.grid.shape
        for cx in (x - RADIUS, x + RADIUS):
            for cy in (y - RADIUS, y + RADIUS):
                c, r = int(np.floor(cx)), int(np.floor(cy))
                if not (0 <= r < h and 0 <= c < w) or self.grid[r, c] != 0:
                    return False
        return True

    def _move(self, mx: float, my: float) -> None:
        s = self.state
        nx = float(np.round((s.x + mx) * _Q_POS) / _Q_POS)
        ny = float(np.round((s.y + my) * _Q_POS) / _Q_POS)
        if self._free(nx, s.y):  # slide along walls: each axis on its own
            s.x = nx
        if self._free(s.x, ny):
            s.y = ny

    def step(self, action: int) -> None:
        """Apply one action (an index into :data:`ACTIONS`)."""
        name = ACTIONS[int(action)]
        dx, dy = DIRS[self.state.heading]
        if name == "forward":
            self._move(dx * STEP, dy * STEP)
        elif name == "back":
            self._move(-dx * STEP, -dy * STEP)
        elif name == "strafe_right":  # the camera plane (screen right) is (-dy, dx)
            self._move(-dy * STEP, dx * STEP)
        elif name == "strafe_left":
            self._move(dy * STEP, -dx * STEP)
        elif name == "right":
            self.state.heading = (self.state.heading + 1) % NUM_HEADINGS
        elif name == "left":
            self.state.heading = (self.state.heading - 1) % NUM_HEADINGS


def shortest_path(grid: np.ndarray, start: tuple[int, int], goal: tuple[int, int]) -> list[tuple[int, int]]:
    """Tiles ``(row, col)`` from ``start`` to ``goal`` (breadth-first search; empty if unreachable)."""
    prev = {start: start}
    queue = deque([start])
    h, w = grid.shape
    while queue:
        cur = queue.popleft()
        if cur == goal:
            break
        for dr, dc in ((0, 1), (1, 0), (0, -1), (-1, 0)):
            nxt = (cur[0] + dr, cur[1] + dc)
            if 0 <= nxt[0] < h and 0 <= nxt[1] < w and grid[nxt] == 0 and nxt not in prev:
                prev[nxt] = cur
                queue.append(nxt)
    if goal not in prev:
        return []
    path = [goal]
    while path[-1] != start:
        path.append(prev[path[-1]])
    return path[::-1]


class GoalAgent:
    """Walks along shortest paths to random goals; takes a random action with probability ``explore``."""

    def __init__(self, world: MazeWorld, rng: np.random.Generator, explore: float = 0.25) -> None:
        self.world, self.rng, self.explore = world, rng, explore
        self.free = np.argwhere(world.grid == 0)
        self.goal: tuple[int, int] | None = None

    def _tile(self) -> tuple[int, int]:
        s = self.world.state
        return int(np.floor(s.y)), int(np.floor(s.x))

    def act(self) -> int:
        if self.rng.random() < self.explore:
            return int(self.rng.integers(len(ACTIONS)))
        here = self._tile()
        if self.goal is None or self.goal == here:
            r, c = self.free[int(self.rng.integers(len(self.free)))]
            self.goal = (int(r), int(c))
        path = shortest_path(self.world.grid, here, self.goal)
        if len(path) < 2:
            self.goal = None
            return action_index("forward")
        r, c = path[1]
        s = self.world.state
        want = np.array([c + 0.5 - s.x, r + 0.5 - s.y])
        best = int(np.argmax(DIRS @ want))
        turn = (best - s.heading) % NUM_HEADINGS
        if turn == 0:
            return action_index("forward")
        return action_index("right") if turn <= NUM_HEADINGS // 2 else action_index("left")


def _walk(seed: int, length: int, maze_seed: int | None, cells: int, explore: float
          ) -> Iterator[tuple[MazeWorld, int]]:
    """The recording walk: ``(world before the action, action)`` for each of ``length`` frames."""
    world = MazeWorld.from_seed(seed if maze_seed is None else maze_seed, cells)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
    free = np.argwhere(world.grid == 0)
    r, c = free[int(rng.integers(len(free)))]
    world.state = MazeState(c + 0.5, r + 0.5, int(rng.integers(NUM_HEADINGS)))
    agent = GoalAgent(world, rng, explore)
    for _ in range(length):
        action = agent.act()
        yield world, action
        world.step(action)


def record_episode(seed: int, length: int, size: int = 84, *, maze_seed: int | None = None, cells: int = 6,
                   explore: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """One episode: ``(video uint8 [length, size, size, 3], actions int64 [length])``; ``actions[t]`` is taken
    after frame ``t``.  ``maze_seed`` picks the maze (default: ``seed``), ``seed`` the start and the walk."""
    video = np.empty((length, size, size, 3), np.uint8)
    actions = np.empty(length, np.int64)
    for t, (world, action) in enumerate(_walk(seed, length, maze_seed, cells, explore)):
        video[t] = world.render(size)
        actions[t] = action
    return video, actions


def episode_world(seed: int, frame: int, *, maze_seed: int | None = None, cells: int = 6, explore: float = 0.25
                  ) -> MazeWorld:
    """The world of :func:`record_episode`'s episode as it was at ``frame`` (its view is that frame), to play
    other actions from there (the true continuation of a rollout with made-up actions)."""
    for t, (world, _) in enumerate(_walk(seed, frame + 1, maze_seed, cells, explore)):
        if t == frame:
            return MazeWorld(world.grid, MazeState(world.state.x, world.state.y, world.state.heading))
    raise ValueError(f"frame must be >= 0, not {frame}")


__all__ = ["ACTIONS", "NUM_HEADINGS", "DIRS", "MazeWorld", "MazeState", "GoalAgent", "make_grid", "render",
           "record_episode", "episode_world", "shortest_path", "action_index"]
