"""ToyCoding-v0: the interpreter, the generator, the env's episode and its refusals."""

import itertools
from collections import Counter

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

from quadgym.envs.coding import EOS, PAD, SEP, CodingTask

TASK = CodingTask()


def ops(*names):
    return [TASK.op_token(TASK.operations.index(n)) for n in names]


def test_vocabulary_and_layout():
    assert TASK.vocab_size == 4 + 32 + 4
    prompt = TASK.make_prompt(3, 17, 4)
    assert TASK.decode(prompt) == "<bos> 3 17 4 <sep>"
    assert TASK.parse_prompt(prompt) == (3, 17, 4)
    assert TASK.max_length == 5 + 7


@pytest.mark.parametrize(
    "prompt, program, passes, value, error",
    [
        ((3, 17, 4), ["*2", "+1", "*2", "+3"], True, 17, ""),  # ((3·2)+1)·2+3
        ((3, 17, 4), ["+1", "*2", "*2", "+1"], True, 17, ""),
        ((3, 17, 4), ["*2", "*2", "+1", "+3"], False, 16, "ends at 16, target 17"),
        ((3, 17, 4), ["*2", "+1", "*2"], False, 14, "wrong length: 3 operations"),
        ((20, 2, 3), ["*2", "-2", "-2"], False, None, "out of range: 40 after operation 0"),
        ((1, 0, 3), ["-2", "+1", "+1"], False, None, "out of range: -1 after operation 0"),
    ],
)
def test_execute_runs_the_program_exactly(prompt, program, passes, value, error):
    result = TASK.execute(TASK.make_prompt(*prompt), [*ops(*program), EOS])
    assert result[:2] == (passes, value)
    assert result[2].startswith(error)


def test_malformed_programs_fail_with_the_reason():
    prompt = TASK.make_prompt(3, 17, 4)
    assert TASK.execute(prompt, [*ops("+1"), TASK.number(5), EOS])[2] == (
        "malformed: '5' at position 1 is not an operation"
    )
    assert TASK.execute(prompt, [*ops("+1"), SEP])[2].startswith("malformed: '<sep>'")
    assert TASK.execute(prompt, ops("+1", "+1"))[2] == "malformed: no <eos>"
    assert TASK.execute(prompt, [*ops("+1", "*2", "*2", "+1"), EOS, PAD, PAD])[0]


@pytest.mark.parametrize(
    "prompt, program, message",
    [
        ([], [EOS], "the prompt is empty"),
        (TASK.make_prompt(3, 17, 4), [EOS] * 8, "program has 8 tokens; the limit is 7"),
        (TASK.make_prompt(3, 17, 4), [TASK.vocab_size], "program token 40 is outside"),
        (TASK.make_prompt(3, 17, 4), [-1], "program token -1 is outside"),
        ([1, 4, 5, 6], [EOS], "is not <bos> x t K <sep>"),
        ([1, 4, 5, 4 + 9, 2], [EOS], "is not <bos> x t K <sep>"),  # K = 9 > max_ops
    ],
)
def test_bad_input_is_refused(prompt, program, message):
    with pytest.raises(ValueError, match=message):
        TASK.execute(prompt, program)


def test_impossible_task_configs_are_refused():
    with pytest.raises(ValueError, match="min_ops <= max_ops"):
        CodingTask(min_ops=5, max_ops=3)
    with pytest.raises(ValueError, match="unknown operations"):
        CodingTask(operations=("+1", "**"))
    with pytest.raises(ValueError, match="K=9 is outside"):
        TASK.make_prompt(1, 2, 9)


def test_generated_pairs_are_correct_and_splits_disjoint():
    rng = np.random.default_rng(0)
    seen = {}
    for split in ("train", "test"):
        prompts, programs = TASK.sample(rng, 2000, split)
        assert all(TASK.execute(p, g)[0] for p, g in zip(prompts, programs, strict=True))
        seen[split] = {tuple(p) for p in prompts}
    assert not seen["train"] & seen["test"]
    frac = len(seen["test"]) / (len(seen["test"]) + len(seen["train"]))
    assert 0.1 < frac < 0.35  # distinct prompts in the held-out split (holdout 0.2 of the hash)


@pytest.mark.slow  # every program from every distinct (x, K): ~8 s
def test_random_programs_rarely_pass():
    """Chance level: a uniformly random sequence of K operations passes ~4% of the time.
    The 4^K programs are built once per K and run once from each distinct start x and
    length K (94 of the 200 prompts' 159 distinct ones): a program passes a prompt exactly
    when its final register is the prompt's target, so one run serves every target."""
    prompts, _ = TASK.sample(np.random.default_rng(1), 200, "test")
    programs: dict[int, list] = {}
    ends: dict[tuple, Counter] = {}  # (x, K) -> final registers of the programs in range
    for p in map(tuple, prompts):
        x, _, k = TASK.parse_prompt(p)
        if (x, k) not in ends:
            if k not in programs:
                ops = itertools.product(range(4), repeat=k)
                programs[k] = [[*TASK.op_tokens[list(o)], EOS] for o in ops]
            finals = (TASK.execute(p, g)[1] for g in programs[k])
            ends[x, k] = Counter(v for v in finals if v is not None)

    def rate(p):
        x, t, k = TASK.parse_prompt(p)
        return ends[x, k][t] / 4**k

    short = [p for p in map(tuple, prompts) if TASK.parse_prompt(p)[2] == 3]
    for p in short[:5]:  # the shortcut, against running each program (K = 3: 64 programs)
        assert rate(p) == np.mean([TASK.execute(p, g)[0] for g in programs[3]])
    assert any(rate(p) > 0 for p in short[:5])
    assert 0.02 < np.mean([rate(p) for p in map(tuple, prompts)]) < 0.07


def test_episode_with_the_reference_program_passes():
    env = gym.make("ToyCoding-v0")
    obs, info = env.reset(seed=3)
    assert env.observation_space.contains(obs)
    reference = [int(t) for t in info["reference"] if t != PAD]
    for i, token in enumerate(reference):
        obs, reward, terminated, truncated, step_info = env.step(token)
        assert obs[5 + i] == token and not truncated
        assert terminated == (i == len(reference) - 1)
    assert reward == 1.0 and step_info == {"passed": True, "value": step_info["value"], "error": ""}
    with pytest.raises(RuntimeError, match="finished"):
        env.step(EOS)


def test_a_non_operation_ends_the_episode_as_malformed():
    env = gym.make("ToyCoding-v0")
    env.reset(seed=0)
    _, reward, terminated, _, info = env.step(TASK.number(3))
    assert terminated and reward == 0.0 and info["error"].startswith("malformed")


@pytest.mark.parametrize("action", [40, -1, np.int64(99), 1.5, np.array([3, 4])])
def test_env_refuses_actions_outside_the_vocabulary(action):
    env = gym.make("ToyCoding-v0").unwrapped
    env.reset(seed=0)
    with pytest.raises(ValueError, match="outside the vocabulary|one integer token"):
        env.step(action)


@pytest.mark.parametrize("split", ["test", "train"])
def test_env_passes_the_checkers(split):
    gym_check_env(gym.make("ToyCoding-v0", split=split).unwrapped)
    sb3_check_env(gym.make("ToyCoding-v0", split=split), warn=False)


def test_same_seed_same_prompts_and_episode():
    def episode(seed):
        env = gym.make("ToyCoding-v0")
        env.action_space.seed(seed)
        obs, _ = env.reset(seed=seed)
        trace = [obs]
        done = False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
            trace.append(obs)
            done = terminated or truncated
        return np.array(trace), reward

    a, b, c = episode(5), episode(5), episode(6)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]
    assert not np.array_equal(a[0][0], c[0][0])


def test_fit_and_tune_divide_the_training_split():
    """``fit`` and ``tune`` are disjoint, both inside ``train``, and ``tune`` holds about
    TUNE_FRACTION of the training prompts (a second hash, independent of the first)."""
    from quadgym.envs.coding import TUNE_FRACTION

    x, t, k = np.meshgrid(np.arange(32), np.arange(32), np.arange(3, 7), indexing="ij")
    x, t, k = x.ravel(), t.ravel(), k.ravel()
    train, test = TASK.in_split("train", x, t, k), TASK.in_split("test", x, t, k)
    fit, tune = TASK.in_split("fit", x, t, k), TASK.in_split("tune", x, t, k)
    assert not (fit & tune).any() and np.array_equal(fit | tune, train) and not (train & test).any()
    assert abs(tune.sum() / train.sum() - TUNE_FRACTION) < 0.03
    rng = np.random.default_rng(0)
    prompts, _ = TASK.sample(rng, 500, "tune")
    assert TASK.in_split("tune", prompts[:, 1] - 4, prompts[:, 2] - 4, prompts[:, 3] - 4).all()
    with pytest.raises(ValueError, match="split must be one of train, test, all, fit, tune"):
        TASK.sample(rng, 1, "dev")
