"""fl.save and fl.load on the file system: links, modes, read-only files, folders, devices,
permissions, and messages that name the user's path (never save's temporary file)."""
import errno
import os
import stat
import tempfile

import numpy as np
import pytest

import fluxlite as fl
from fluxlite import serialization
from fluxlite.serialization import load, loadmodel_, save, state

POSIX = os.name == "posix"
posix_only = pytest.mark.skipif(not POSIX, reason="links, modes and FIFOs as on Linux and macOS")


def make(sizes=(3, 4, 2), seed=0):
    fl.seed(seed)
    return fl.Chain(*[fl.Dense(a, b, fl.relu) for a, b in zip(sizes[:-1], sizes[1:])])


def same_weights(a, b):
    return all(np.array_equal(x, y) for x, y in zip(fl.functors.leaves(a), fl.functors.leaves(b))
               if isinstance(x, np.ndarray))


def no_temporary_files(folder):
    return [n for n in os.listdir(folder) if n.startswith(".fluxlite-save")] == []


@pytest.fixture
def umask():
    """Set the process's umask for one test, and put the old one back afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield lambda mask: os.umask(mask)
    os.umask(old)


# --------------------------------------------------------------------------- symbolic links

@posix_only
def test_save_writes_through_a_link_and_keeps_the_link(tmp_path):
    real_dir = tmp_path / "checkpoints"
    real_dir.mkdir()
    target = real_dir / "model.npz"
    save(target, make(seed=1))
    link = tmp_path / "latest.npz"
    link.symlink_to(target)
    model = make(seed=2)
    save(link, model)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert same_weights(loadmodel_(make(seed=3), target), model)  # the target has the new arrays
    assert no_temporary_files(tmp_path) and no_temporary_files(real_dir)


@posix_only
def test_save_follows_a_chain_of_links_and_a_dangling_link(tmp_path):
    (tmp_path / "a").mkdir()
    target = tmp_path / "a" / "new.npz"
    (tmp_path / "one.npz").symlink_to(target)           # dangling: the file does not exist yet
    (tmp_path / "two.npz").symlink_to(tmp_path / "one.npz")
    model = make(seed=4)
    save(tmp_path / "two.npz", model)
    assert target.is_file() and not target.is_symlink()
    assert (tmp_path / "two.npz").is_symlink() and (tmp_path / "one.npz").is_symlink()
    assert same_weights(loadmodel_(make(), tmp_path / "two.npz"), model)


@posix_only
def test_save_refuses_a_link_into_a_missing_folder_naming_both(tmp_path):
    link = tmp_path / "m.npz"
    link.symlink_to(tmp_path / "gone" / "m.npz")
    with pytest.raises(FileNotFoundError) as err:
        save(link, make())
    msg = str(err.value)
    assert repr(str(link)) in msg and "a link to" in msg and "does not exist" in msg
    assert "os.makedirs" in msg
    assert link.is_symlink()


@posix_only
def test_save_refuses_a_link_loop(tmp_path):
    a, b = tmp_path / "a.npz", tmp_path / "b.npz"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(OSError, match="leads, through other links, back to itself") as err:
        save(a, make())
    assert repr(str(a)) in str(err.value)
    assert a.is_symlink() and b.is_symlink()


# --------------------------------------------------------------------------- what is not a file

def test_save_refuses_a_folder(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder, not a file") as err:
        save(folder, make())
    assert repr(str(folder)) in str(err.value)
    assert f"fl.save(os.path.join({str(folder)!r}, 'model.npz'), model)" in str(err.value)
    assert folder.is_dir() and os.listdir(folder) == [] and no_temporary_files(tmp_path)


@posix_only
def test_save_refuses_a_named_pipe(tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match=r"is a named pipe \(FIFO\), not a regular file") as err:
        save(fifo, make())
    assert repr(str(fifo)) in str(err.value)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and no_temporary_files(tmp_path)


@posix_only
def test_save_refuses_a_device_even_through_a_link(tmp_path):
    link = tmp_path / "model.npz"
    link.symlink_to(os.devnull)
    before = os.stat(os.devnull)
    with pytest.raises(OSError, match="is a character device, not a regular file") as err:
        save(link, make())
    assert repr(str(link)) in str(err.value)
    after = os.stat(os.devnull)
    assert stat.S_ISCHR(after.st_mode) and after.st_ino == before.st_ino
    assert link.is_symlink()


def test_save_refuses_a_missing_folder(tmp_path):
    path = tmp_path / "no" / "such" / "m.npz"
    with pytest.raises(FileNotFoundError, match="does not exist") as err:
        save(path, make())
    assert repr(str(path)) in str(err.value)


# --------------------------------------------------------------------------- modes and read-only files

@posix_only
@pytest.mark.parametrize("mask", [0o022, 0o077, 0o002])
def test_a_new_file_gets_the_umask_mode_like_numpy(tmp_path, umask, mask):
    umask(mask)
    save(tmp_path / "ours.npz", make())
    np.savez(tmp_path / "numpys.npz", w=np.ones(2))
    ours = stat.S_IMODE(os.stat(tmp_path / "ours.npz").st_mode)
    assert ours == 0o666 & ~mask
    assert ours == stat.S_IMODE(os.stat(tmp_path / "numpys.npz").st_mode)


@posix_only
@pytest.mark.parametrize("mode", [0o640, 0o600, 0o664])
def test_replacing_a_file_keeps_its_mode(tmp_path, umask, mode):
    umask(0o022)
    path = tmp_path / "m.npz"
    save(path, make(seed=1))
    os.chmod(path, mode)
    model = make(seed=2)
    save(path, model)
    assert stat.S_IMODE(os.stat(path).st_mode) == mode
    assert same_weights(loadmodel_(make(), path), model)


@posix_only
def test_save_refuses_a_read_only_file_and_leaves_it_alone(tmp_path):
    path = tmp_path / "best.npz"
    save(path, make(seed=1))
    os.chmod(path, 0o444)
    raw = path.read_bytes()
    with pytest.raises(PermissionError) as err:
        save(path, make(seed=2))
    msg = str(err.value)
    assert msg.startswith(f"save: {str(path)!r} is read-only, so fl.save does not replace it.")
    assert "os.chmod(path, 0o644)" in msg
    assert path.read_bytes() == raw and stat.S_IMODE(os.stat(path).st_mode) == 0o444
    assert no_temporary_files(tmp_path)


@posix_only
def test_save_refuses_a_read_only_file_behind_a_link_naming_the_link(tmp_path):
    target = tmp_path / "real.npz"
    save(target, make(seed=1))
    os.chmod(target, 0o400)
    link = tmp_path / "link.npz"
    link.symlink_to(target)
    with pytest.raises(PermissionError) as err:
        save(link, make(seed=2))
    assert str(err.value).startswith(f"save: {str(link)!r} (a link to {str(target)!r}) is read-only")


# --------------------------------------------------------------------------- failures while writing

def test_a_failed_write_names_the_users_path_not_the_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    save(path, make(seed=1))
    raw = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / ".fluxlite-save-x.tmp"))

    monkeypatch.setattr(np.lib.format, "write_array", disk_full)
    with pytest.raises(OSError) as err:
        save(path, make(seed=2))
    msg = str(err.value)
    assert err.value.errno == errno.ENOSPC
    assert msg == (f"save: could not write {str(path)!r}: No space left on device. Nothing was "
                   f"changed at {str(path)!r}.")
    assert ".fluxlite-save" not in msg and err.value.__cause__ is None
    assert path.read_bytes() == raw and no_temporary_files(tmp_path)


def test_an_interrupted_save_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    save(path, make(seed=1))
    raw = path.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np.lib.format, "write_array", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save(path, make(seed=2))
    assert path.read_bytes() == raw and sorted(os.listdir(tmp_path)) == ["m.npz"]


# --------------------------------------------------------------------------- permissions (as another user)

def as_someone_else(action):
    """Call `action()` as a user without special rights, and return the text of the
    PermissionError it raises ("" if none). When the tests run as root (who may read and
    write anything, so the checks would never fire), it runs in a forked child that has
    given up root for the user "nobody"."""
    def attempt():
        try:
            action()
        except PermissionError as e:
            return str(e)
        return ""

    if not (hasattr(os, "geteuid") and os.geteuid() == 0):
        return attempt()
    import pwd
    nobody = pwd.getpwnam("nobody")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root, try, report through the pipe, and leave at once
        code = 0
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            os.write(write_end, ("OK" + attempt()).encode())
        except BaseException as e:  # noqa: BLE001 - reported to the parent
            os.write(write_end, f"CHILD FAILED: {type(e).__name__}: {e}".encode())
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as f:
        out = f.read().decode()
    os.waitpid(pid, 0)
    assert out.startswith("OK"), out
    return out[2:]


@pytest.fixture
def shared_folder():
    """A folder outside pytest's private temporary tree, open to every user."""
    folder = tempfile.mkdtemp(prefix="fluxlite-perm-")
    os.chmod(folder, 0o777)
    yield folder
    for name in os.listdir(folder):
        p = os.path.join(folder, name)
        if os.path.isdir(p) and not os.path.islink(p):
            os.chmod(p, 0o755)
            for inner in os.listdir(p):
                os.remove(os.path.join(p, inner))
            os.rmdir(p)
        else:
            os.remove(p)
    os.rmdir(folder)


@posix_only
@pytest.mark.parametrize("who", ["load", "loadmodel_"])
def test_a_file_you_may_not_read_is_a_permission_error_not_damage(shared_folder, who):
    path = os.path.join(shared_folder, "secret.npz")
    save(path, make())
    os.chmod(path, 0o000)
    read = load if who == "load" else (lambda p: loadmodel_(make(), p))
    msg = as_someone_else(lambda: read(path))
    assert msg.startswith(f"{who}: you are not allowed to read {path!r} (permission denied)"), msg
    assert "chmod u+r" in msg and "cannot read" not in msg


@posix_only
def test_saving_into_a_folder_you_may_not_write_says_so(shared_folder):
    locked = os.path.join(shared_folder, "locked")
    os.mkdir(locked)
    os.chmod(locked, 0o555)
    path = os.path.join(locked, "m.npz")
    msg = as_someone_else(lambda: save(path, {"w": fl.ones(2)}))
    assert msg.startswith(f"save: cannot write {path!r}: you may not create files in the folder "
                          f"{locked!r}."), msg
    assert os.listdir(locked) == []


# --------------------------------------------------------------------------- fl.load

def test_load_returns_the_state_tree_and_loadmodel_takes_it(tmp_path):
    model = make((3, 5, 2), seed=1)
    save(tmp_path / "m.npz", model)
    tree = fl.load(tmp_path / "m.npz")
    assert isinstance(tree, dict) and list(tree) == ["layers"]
    assert isinstance(tree["layers"], list) and len(tree["layers"]) == 2
    assert sorted(tree["layers"][1]) == ["bias", "weight"]
    assert type(tree["layers"][1]["weight"]) is np.ndarray
    np.testing.assert_array_equal(tree["layers"][1]["weight"], model.layers[1].weight)
    fresh = make((3, 5, 2), seed=2)
    assert fl.loadmodel_(fresh, fl.load(tmp_path / "m.npz")) is fresh
    assert same_weights(fresh, model)
    assert fresh.layers[0].weight.dtype == np.float32


def test_load_matches_state_for_a_model_with_layers_without_arrays(tmp_path):
    fl.seed(0)
    cnn = fl.Chain(fl.Conv((3, 3), (1, 2), fl.relu, pad=1), fl.MaxPool((2, 2)), fl.flatten,
                   fl.Dense(8, 3))
    save(tmp_path / "cnn.npz", cnn)
    tree = load(tmp_path / "cnn.npz")
    assert len(tree["layers"]) == 4
    assert tree["layers"][1] == () and tree["layers"][2] == ()   # no arrays in MaxPool, flatten
    np.testing.assert_array_equal(tree["layers"][3]["weight"], state(cnn)["layers"][3]["weight"])
    fl.seed(1)
    other = fl.Chain(fl.Conv((3, 3), (1, 2), fl.relu, pad=1), fl.MaxPool((2, 2)), fl.flatten,
                     fl.Dense(8, 3))
    loadmodel_(other, tree)
    x = np.random.default_rng(0).random((4, 4, 1, 2), dtype=np.float32)
    np.testing.assert_array_equal(other(x), cnn(x))


def test_load_keeps_dict_keys_that_are_not_names_and_a_lone_array(tmp_path):
    model = {"a b": fl.ones(2), "c": [fl.zeros(1), {"d]": fl.ones(3)}]}
    save(tmp_path / "m.npz", model)
    tree = load(tmp_path / "m.npz")
    assert sorted(tree) == ["a b", "c"]
    assert tree["c"][1]["d]"].tolist() == [1.0, 1.0, 1.0]
    save(tmp_path / "one.npz", np.arange(3.0))
    assert load(tmp_path / "one.npz").tolist() == [0.0, 1.0, 2.0]
    W, b = fl.rand(2, 3), fl.rand(2)
    save(tmp_path / "p.npz", fl.params(W, b))
    loaded = load(tmp_path / "p.npz")
    assert isinstance(loaded, list) and len(loaded) == 2
    W2, b2 = fl.zeros(2, 3), fl.zeros(2)
    loadmodel_(fl.params(W2, b2), loaded)
    np.testing.assert_array_equal(W2, W)


def test_loadmodel_refuses_a_loaded_state_that_does_not_fit(tmp_path):
    save(tmp_path / "m.npz", make((3, 4, 2)))
    m = make((3, 6, 2))
    with pytest.raises(ValueError, match=r"layers\[0\]\.weight: the model has shape \(6, 3\), the "
                                         r"source has shape \(4, 3\)"):
        loadmodel_(m, load(tmp_path / "m.npz"))


def test_load_refuses_archives_whose_names_are_not_places(tmp_path):
    np.savez(tmp_path / "odd.npz", **{"3x": np.ones(1)})
    with pytest.raises(ValueError, match=r"load: cannot read .* its entry '3x' is not the name of a "
                                         r"place in a model"):
        load(tmp_path / "odd.npz")
    np.savez(tmp_path / "clash.npz", **{"a": np.ones(1), "a.b": np.ones(1)})
    with pytest.raises(ValueError, match="clashes with another entry"):
        load(tmp_path / "clash.npz")


@pytest.mark.parametrize("who", ["load", "loadmodel_"])
def test_a_folder_is_reported_as_a_folder_not_as_damage(tmp_path, who):
    runs = tmp_path / "runs"
    runs.mkdir()
    read = load if who == "load" else (lambda p: loadmodel_(make(), p))
    with pytest.raises(IsADirectoryError) as err:
        read(runs)
    msg = str(err.value)
    assert msg.startswith(f"{who}: {str(runs)!r} is a folder, not a model file.")
    assert "damaged" not in msg
    save(runs / "epoch1.npz", make())
    with pytest.raises(IsADirectoryError) as err:
        read(runs)
    assert f"It holds 'epoch1.npz': give the path of one of them, e.g. " \
           f"{str(runs / 'epoch1.npz')!r}." in str(err.value)


@posix_only
@pytest.mark.parametrize("who", ["load", "loadmodel_"])
def test_a_pipe_or_device_is_not_read(tmp_path, who):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    read = load if who == "load" else (lambda p: loadmodel_(make(), p))
    with pytest.raises(OSError, match=rf"{who}: .* is a named pipe \(FIFO\), not a model file"):
        read(fifo)  # would block forever if it were opened
    with pytest.raises(OSError, match="is a character device, not a model file"):
        read(os.devnull)


def test_load_reports_missing_and_damaged_files_with_its_own_name(tmp_path):
    save(tmp_path / "model.npz", make())
    with pytest.raises(FileNotFoundError, match=r"^load: there is no file .*did you mean that"):
        load(tmp_path / "model")
    (tmp_path / "bad.npz").write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match=r"^load: cannot read .*bad\.npz' as a model file: it is "
                                         r"not a zip archive"):
        load(tmp_path / "bad.npz")
    np.savez(tmp_path / "pickled.npz", w=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickled Python objects"):
        load(tmp_path / "pickled.npz")


def test_load_is_part_of_fluxlite_and_of_serialization():
    assert fl.load is serialization.load
    assert "load" in serialization.__all__
