from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from ledger_bot.errors import ConfigError
from ledger_bot.secret_files import Secret

NAME = "LEDGER_BOT_STATE_URL"


def rewrite(path: Path, text: str) -> None:
    """Replace a file's content in place, and make sure its mtime moves on."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    os.utime(path, ns=(before + 1_000_000_000, before + 1_000_000_000))


def k8s_secret(folder: Path, version: str, token: str) -> Path:
    """The layout kubelet mounts: ``token -> ..data/token``, ``..data -> ..<version>``."""
    (folder / version).mkdir(parents=True)
    (folder / version / "token").write_text(token)
    (folder / "..data").symlink_to(version)
    (folder / "token").symlink_to("..data/token")
    return folder / "token"


def k8s_rotate(folder: Path, version: str, token: str) -> None:
    """What kubelet does on an update: write a new folder, then swap ``..data`` atomically."""
    old = (folder / "..data").readlink()
    (folder / version).mkdir()
    (folder / version / "token").write_text(token)
    (folder / "..data_tmp").symlink_to(version)
    (folder / "..data_tmp").replace(folder / "..data")
    (folder / old / "token").unlink()
    (folder / old).rmdir()


def test_value_from_the_environment() -> None:
    assert Secret(NAME, "postgresql://db/x").get() == "postgresql://db/x"


def test_unset_secret_is_none() -> None:
    assert Secret(NAME).get() is None


def test_empty_variable_counts_as_unset() -> None:
    assert Secret(NAME, "").get() is None


def test_file_wins_over_the_value(tmp_path: Path) -> None:
    path = tmp_path / "url"
    path.write_text("postgresql://from-file/x")
    assert Secret(NAME, "postgresql://from-env/x", path).get() == "postgresql://from-file/x"


def test_trailing_newline_is_stripped(tmp_path: Path) -> None:
    path = tmp_path / "url"
    path.write_text("postgresql://db/x\n")
    assert Secret(NAME, file=path).get() == "postgresql://db/x"


def test_rotation_is_picked_up_without_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("old-token")
    secret = Secret(NAME, file=path)
    secret.get()
    rewrite(path, "new-token")
    assert (secret.get(), secret.rotated) == ("new-token", 1)


def test_touching_the_file_is_not_a_rotation(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("same-token")
    secret = Secret(NAME, file=path)
    secret.get()
    rewrite(path, "same-token")
    assert (secret.get(), secret.rotated) == ("same-token", 0)


def test_kubernetes_symlink_swap_is_picked_up(tmp_path: Path) -> None:
    token = k8s_secret(tmp_path, "..2026_11_26_1", "token-one")
    secret = Secret(NAME, file=token)
    secret.get()
    old = token.stat()
    k8s_rotate(tmp_path, "..2026_11_26_2", "token-two")
    new = tmp_path / "..2026_11_26_2" / "token"
    os.utime(new, ns=(old.st_atime_ns, old.st_mtime_ns))  # same size and mtime: only the inode
    assert (secret.get(), secret.rotated) == ("token-two", 1)


def test_missing_file_error_names_the_variable_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "absent"
    with pytest.raises(ConfigError) as caught:
        Secret(NAME, file=path).get()
    assert str(caught.value) == f"{NAME}_FILE: cannot read {path}: No such file or directory"


def test_file_removed_after_a_read_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "url"
    path.write_text("postgresql://db/x")
    secret = Secret(NAME, file=path)
    secret.get()
    path.unlink()
    with pytest.raises(ConfigError, match=f"^{NAME}_FILE: cannot read "):
        secret.get()


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "url"
    path.write_text("\n")
    with pytest.raises(ConfigError) as caught:
        Secret(NAME, file=path).get()
    assert str(caught.value) == f"{NAME}_FILE: {path} is empty; write the secret into it"


def test_file_that_is_not_text_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "url"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        Secret(NAME, file=path).get()


def test_require_names_both_variables_when_unset() -> None:
    with pytest.raises(ConfigError) as caught:
        Secret(NAME).require()
    assert str(caught.value) == f"set {NAME} or {NAME}_FILE"


def test_require_returns_the_value(tmp_path: Path) -> None:
    path = tmp_path / "url"
    path.write_text("postgresql://db/x\n")
    assert Secret(NAME, file=path).require() == "postgresql://db/x"


def test_repr_of_a_file_secret_names_the_file_not_the_value(tmp_path: Path) -> None:
    path = tmp_path / "url"
    path.write_text("hunter2")
    secret = Secret(NAME, file=path)
    secret.get()
    assert (repr(secret), str(secret)) == (f"Secret({NAME}, from file {path})",) * 2


def test_repr_of_a_set_value_does_not_show_it() -> None:
    secret = Secret(NAME, "hunter2")
    assert (repr(secret), f"{secret}", str([secret])) == (
        f"Secret({NAME}, set)",
        f"Secret({NAME}, set)",
        f"[Secret({NAME}, set)]",
    )


def test_repr_of_an_unset_secret() -> None:
    assert repr(Secret(NAME)) == f"Secret({NAME}, unset)"


def test_concurrent_reads_during_rotation_see_whole_values(tmp_path: Path) -> None:
    token = k8s_secret(tmp_path, "..v0", "token-0")
    secret = Secret(NAME, file=token)
    seen: set[str | None] = set()
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        try:
            while not stop.is_set():
                seen.add(secret.get())
        except BaseException as exc:
            errors.append(exc)

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    for version in range(1, 21):
        k8s_rotate(tmp_path, f"..v{version}", f"token-{version}")
    stop.set()
    for reader in readers:
        reader.join()
    assert errors == []
    assert seen <= {f"token-{version}" for version in range(21)}
    assert (secret.get(), 1 <= secret.rotated <= 20) == ("token-20", True)
