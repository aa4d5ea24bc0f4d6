# fjord_direct_service.py: run a Fjord systemd unit where PID 1 is not systemd
# (containers, CI): the fjord.cluster roles' `fjord_service_manager: direct`.
#
#   python3 fjord_direct_service.py start|stop|restart|status UNIT [--unit-dir DIR] [--run-dir DIR]
#                        [--log-dir DIR] [--timeout SECONDS]
#
# It starts exactly what the installed unit file says: ExecStart (with %i
# for template instances), as User=/Group=, in WorkingDirectory=, with
# Environment=, EnvironmentFile= and LimitNOFILE=, detached in a session of
# its own. Like systemd for Type=notify it hands the process a NOTIFY_SOCKET
# and waits for READY=1 (the daemons send it once they serve), failing if the
# process exits first or the timeout passes. The pid goes to RUN_DIR/UNIT.pid,
# stdout/stderr to LOG_DIR/UNIT.log. stop sends SIGTERM (the unit's
# KillSignal) and waits for the exit, then SIGKILL after the timeout.
# Exit codes: 0 done, with "changed" or "unchanged" on stdout; 1 failed.
# The sandboxing directives (ProtectSystem=, ...) are not reproduced.

import argparse
import grp
import os
import pwd
import resource
import shlex
import signal
import socket
import sys
import tempfile
import time


def parse_unit(path, instance):
    """The [Service] directives of a unit file, with %i/%I/%% expanded."""
    service = {}
    section = None
    with open(path) as f:
        lines = f.read().replace("\\\n", " ").splitlines()
    for raw in lines:
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line
            continue
        if section != "[Service]" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        value = value.strip().replace("%%", "\0")
        value = value.replace("%i", instance).replace("%I", instance).replace("\0", "%")
        service.setdefault(key.strip(), []).append(value)
    return service


def unit_file(unit, unit_dir):
    """UNIT's file: NAME.service, or the template NAME@.service for NAME@INST."""
    name = unit[:-len(".service")] if unit.endswith(".service") else unit
    instance = ""
    if "@" in name:
        prefix, instance = name.split("@", 1)
        path = os.path.join(unit_dir, prefix + "@.service")
    else:
        path = os.path.join(unit_dir, name + ".service")
    direct = os.path.join(unit_dir, name + ".service")
    if os.path.exists(direct):
        path = direct
    if not os.path.exists(path):
        sys.exit("fjord_direct_service.py: %s: no unit file %s" % (unit, path))
    return name, instance, path


def environment(service):
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    for spec in service.get("EnvironmentFile", []):
        optional = spec.startswith("-")
        spec = spec.lstrip("-")
        try:
            with open(spec) as f:
                for line in f:
                    line = line.strip()
                    if line and not line.startswith("#") and "=" in line:
                        k, v = line.split("=", 1)
                        env[k.strip()] = v.strip().strip('"')
        except OSError:
            if not optional:
                raise
    for spec in service.get("Environment", []):
        for item in shlex.split(spec):
            if "=" in item:
                k, v = item.split("=", 1)
                env[k] = v
    return env


def exec_argv(service, env):
    starts = service.get("ExecStart", [])
    if len(starts) != 1:
        sys.exit("fjord_direct_service.py: the unit needs exactly one ExecStart (has %d)"
                 % len(starts))
    command = starts[0].lstrip("-@+!:")
    argv = []
    for word in shlex.split(command):
        if word.startswith("${") and word.endswith("}"):
            argv.extend(shlex.split(env.get(word[2:-1], "")))
        elif word.startswith("$") and word[1:].isidentifier():
            argv.extend(shlex.split(env.get(word[1:], "")))
        else:
            argv.append(word)
    return argv


def read_pid(pid_file):
    try:
        with open(pid_file) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    # A reused pid is not ours: the command line must still be the daemon's.
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            if b"fjord" not in f.read():
                return None
    except OSError:
        return None
    return pid


def start(unit, args):
    name, instance, path = unit_file(unit, args.unit_dir)
    pid_file = os.path.join(args.run_dir, name + ".pid")
    if read_pid(pid_file):
        return "unchanged"
    service = parse_unit(path, instance)
    env = environment(service)
    argv = exec_argv(service, env)
    user = (service.get("User") or ["root"])[-1]
    pw = pwd.getpwnam(user)
    gid = grp.getgrnam(service["Group"][-1]).gr_gid if service.get("Group") else pw.pw_gid
    env.update(HOME=pw.pw_dir, USER=user, LOGNAME=user)
    workdir = (service.get("WorkingDirectory") or ["/"])[-1].lstrip("-")
    nofile = (service.get("LimitNOFILE") or [None])[-1]
    os.makedirs(args.run_dir, exist_ok=True)
    os.makedirs(args.log_dir, exist_ok=True)
    log_path = os.path.join(args.log_dir, name + ".log")
    sock_dir = tempfile.mkdtemp(prefix="fjord-notify-")
    sock_path = os.path.join(sock_dir, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    os.chmod(sock_dir, 0o755)
    os.chmod(sock_path, 0o777)  # the daemon runs as User= and must be able to send
    env["NOTIFY_SOCKET"] = sock_path
    log = open(log_path, "ab")

    limit = None
    if nofile:
        want = resource.RLIM_INFINITY if nofile == "infinity" else int(nofile)
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        limit = (want, want)
        try:
            # Probe in this process's copy: raising the hard limit needs
            # CAP_SYS_RESOURCE, which a container may not grant.
            old = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, limit)
            resource.setrlimit(resource.RLIMIT_NOFILE, old)
        except (ValueError, OSError):
            limit = (hard, hard)
            log.write(("fjord_direct_service.py: LimitNOFILE=%s not allowed here; using %d\n"
                       % (nofile, hard)).encode())
            log.flush()

    def child():
        os.setsid()
        if limit:
            resource.setrlimit(resource.RLIMIT_NOFILE, limit)
        os.setgroups([])
        os.setgid(gid)
        os.setuid(pw.pw_uid)
        os.chdir(workdir)

    import subprocess
    proc = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, preexec_fn=child, close_fds=True)
    with open(pid_file, "w") as f:
        f.write("%d\n" % proc.pid)
    deadline = time.time() + args.timeout
    sock.settimeout(0.2)
    try:
        while time.time() < deadline:
            if proc.poll() is not None:
                os.unlink(pid_file)
                sys.exit("fjord_direct_service.py: %s exited with %d before it was ready; see %s"
                         % (unit, proc.returncode, log_path))
            try:
                message = sock.recv(4096).decode("utf-8", "replace")
            except socket.timeout:
                continue
            if "READY=1" in message.split("\n"):
                return "changed"
        proc.terminate()
        sys.exit("fjord_direct_service.py: %s did not report READY=1 within %ss; see %s"
                 % (unit, args.timeout, log_path))
    finally:
        sock.close()
        os.unlink(sock_path)
        os.rmdir(sock_dir)


def stop(unit, args):
    name, _, _ = unit_file(unit, args.unit_dir)
    pid_file = os.path.join(args.run_dir, name + ".pid")
    pid = read_pid(pid_file)
    if not pid:
        if os.path.exists(pid_file):
            os.unlink(pid_file)
        return "unchanged"
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    os.unlink(pid_file)
    return "changed"


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["start", "stop", "restart", "status"])
    parser.add_argument("unit")
    parser.add_argument("--unit-dir", default="/usr/lib/systemd/system")
    parser.add_argument("--run-dir", default="/run/fjord")
    parser.add_argument("--log-dir", default="/var/log/fjord")
    parser.add_argument("--timeout", type=float, default=90)
    args = parser.parse_args()
    if args.action == "status":
        name, _, _ = unit_file(args.unit, args.unit_dir)
        pid = read_pid(os.path.join(args.run_dir, name + ".pid"))
        print("running %d" % pid if pid else "stopped")
        return 0 if pid else 3
    if args.action == "restart":
        stop(args.unit, args)
        print(start(args.unit, args) and "changed")
        return 0
    print(start(args.unit, args) if args.action == "start" else stop(args.unit, args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
