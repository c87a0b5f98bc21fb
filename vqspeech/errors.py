"""Exception types that the CLI maps to one ``error: ...`` line and an exit code."""

from __future__ import annotations


class VQSpeechError(Exception):
    """A failure while running (exit code 1)."""

    exit_code = 1


class InputError(VQSpeechError):
    """Bad usage or bad input: a file, value or option the user can fix (exit code 2)."""

    exit_code = 2


class AudioError(InputError):
    """An audio file that cannot be used; the message names the file and the problem."""


class ConfigError(InputError):
    """A recipe with an unknown key, a wrong type or a bad value; the message names the key."""


class CheckpointError(InputError):
    """A checkpoint that is missing, truncated, of the wrong kind or not a safetensors file."""
