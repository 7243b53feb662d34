namespace SharpLM.Sandbox;

/// <summary>The fixed Python code the sandbox runs around (never inside) generated programs.</summary>
internal static class PythonScripts
{
    /// <summary>
    /// Runs program.py after limiting resources and applying the guard. Arguments: program path, memory bytes,
    /// file-size bytes, process headroom, 1 to disable sockets. Passed with -c so it is not a file the program
    /// could edit, and it compiles the program before disabling os.getcwd (which os.path.abspath needs). The first
    /// line of stdin is a nonce: only when the program returns normally (every check ran) does the runner print
    /// <see cref="CompletionMarker"/> and the nonce as stdout's last line, so exiting or exec'ing early cannot pass.
    /// </summary>
    public const string Runner = """
        import os, sys

        def tasks_of_user():
            # RLIMIT_NPROC counts every task (thread) of the user, or of its user namespace under bubblewrap.
            uid, count = os.getuid(), 0
            for pid in os.listdir('/proc'):
                try:
                    if pid.isdigit() and os.stat('/proc/' + pid).st_uid == uid:
                        count += len(os.listdir('/proc/' + pid + '/task'))
                except OSError:
                    pass  # the process ended while we counted
            return count

        def limit_resources(memory, file_size, processes):
            import resource
            def cap(kind, value):
                hard = resource.getrlimit(kind)[1]
                if hard != resource.RLIM_INFINITY:
                    value = min(value, hard)
                resource.setrlimit(kind, (value, value))
            cap(resource.RLIMIT_AS, memory)
            cap(resource.RLIMIT_DATA, memory)
            cap(resource.RLIMIT_FSIZE, file_size)
            cap(resource.RLIMIT_CORE, 0)
            cap(resource.RLIMIT_NPROC, tasks_of_user() + processes)

        def guard(block_network):
            # human-eval's reliability_guard, applied at every isolation level so pass rates match its harness
            # whatever protects the host; calls raise PermissionError instead of being None, for clearer errors.
            import faulthandler, shutil, subprocess
            faulthandler.disable()
            def disabled(name):
                def refuse(*args, **kwargs):
                    raise PermissionError(name + ' is disabled in the sandbox')
                return refuse
            for name in ('kill', 'system', 'putenv', 'remove', 'removedirs', 'rmdir', 'fchdir', 'setuid', 'fork',
                         'forkpty', 'killpg', 'rename', 'renames', 'truncate', 'replace', 'unlink', 'fchmod', 'fchown',
                         'chmod', 'chown', 'chroot', 'lchflags', 'lchmod', 'lchown', 'getcwd', 'chdir',
                         # Beyond human-eval: leaving early, or replacing the interpreter with a program that exits 0,
                         # would skip the checks (the completion marker catches what gets past these).
                         '_exit', 'abort', 'popen', 'execl', 'execle', 'execlp', 'execlpe', 'execv', 'execve', 'execvp',
                         'execvpe', 'spawnl', 'spawnle', 'spawnlp', 'spawnlpe', 'spawnv', 'spawnve', 'spawnvp', 'spawnvpe',
                         'posix_spawn', 'posix_spawnp', 'setsid', 'setpgid', 'setpgrp'):
                if hasattr(os, name):
                    setattr(os, name, disabled('os.' + name))
            for name in ('rmtree', 'move', 'chown'):
                setattr(shutil, name, disabled('shutil.' + name))
            for name in ('Popen', 'run', 'call', 'check_call', 'check_output', 'getoutput', 'getstatusoutput'):
                setattr(subprocess, name, disabled('subprocess.' + name))
            import pty
            for name in ('spawn', 'fork'):
                setattr(pty, name, disabled('pty.' + name))
            for name in ('ipdb', 'joblib', 'resource', 'psutil', 'tkinter'):
                sys.modules[name] = None
            if block_network:
                import socket
                # A subclass, not a function, so modules that subclass socket.socket (ssl) still import.
                class NoSocket(socket.socket):
                    def __init__(self, *args, **kwargs):
                        raise PermissionError('network access is disabled in the sandbox (socket.socket)')
                socket.socket = NoSocket

        def main(program, memory, file_size, processes, block_network):
            nonce = sys.stdin.readline().strip()
            sys.stdin.read()  # the host closed it: input() in the program sees end of file
            write, stdout_fd = os.write, sys.stdout.fileno()
            # A session and process group of its own: on the weakest level the host kills the group at the end.
            try:
                os.setsid()
            except OSError:
                pass  # already a session leader (bubblewrap --new-session)
            limit_resources(memory, file_size, processes)
            path = os.path.abspath(program)
            with open(path, 'rb') as source:
                code = compile(source.read(), path, 'exec')
            guard(block_network)
            sys.argv = [path]
            try:
                exec(code, {'__name__': '__main__', '__file__': path, '__builtins__': __builtins__})
            except SystemExit as e:
                # human-eval exec()s the program and counts any BaseException as a failure: exit(0) before the
                # tests must not pass.
                sys.stderr.write('program called exit(%r): counted as a failure\n' % (e.code,))
                sys.exit(3)
            # Every check ran: buffered output first, then the marker as the last line.
            for stream in (sys.stdout, sys.__stdout__):
                try:
                    stream.flush()
                except Exception:
                    pass
            write(stdout_fd, ('\n' + MARKER + nonce + '\n').encode())

        MARKER = 'sharplm-sandbox-completed:'  # PythonScripts.CompletionMarker
        main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == '1')
        """;

    /// <summary>Precedes the run's nonce on the runner's last stdout line once the program returned normally.</summary>
    public const string CompletionMarker = "sharplm-sandbox-completed:";

    /// <summary>
    /// Reports, under a candidate isolation, what it actually gives: network interfaces (a fresh network namespace
    /// has only lo), whether / is mounted read-only, the effective capabilities, whether RLIMIT_NPROC stops a fork,
    /// and which host directories that must stay hidden are visible. Arguments: the hidden directories, "--", then
    /// the interpreter's directories (their ancestors may exist, holding nothing but the path down to them).
    /// </summary>
    public const string Probe = """
        import os, resource, socket, sys
        split = sys.argv.index('--')
        hidden, allowed = sys.argv[1:split], sys.argv[split + 1:]
        def exposed(path):
            # What of path is visible beyond the way down to an interpreter directory, or None.
            if not os.path.lexists(path):
                return None
            below = [a for a in allowed if a == path or a.startswith(path + '/')]
            if not below:
                return path
            if path in below:
                return None
            try:
                names = os.listdir(path)
            except OSError:
                return None
            for name in names:
                found = exposed(os.path.join(path, name))
                if found:
                    return found
            return None
        print('exposed=' + ','.join(p for p in map(exposed, hidden) if p))
        print('interfaces=' + ','.join(name for _, name in socket.if_nameindex()))
        print('root_readonly=' + str(bool(os.statvfs('/').f_flag & os.ST_RDONLY)))
        print('capabilities=' + open('/proc/self/status').read().split('CapEff:')[1].split()[0])
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
        try:
            pid = os.fork()
        except OSError:
            print('nproc_enforced=True')
        else:
            if pid == 0:
                os._exit(0)
            os.waitpid(pid, 0)
            print('nproc_enforced=False')
        """;

    /// <summary>
    /// The interpreter's real path (not a pyenv shim or PATH name), its version, then the directories it loads
    /// from (prefixes and the executable's own directory), one a line.
    /// </summary>
    public const string Identify = """
        import os, sys
        print(os.path.realpath(sys.executable))
        print(sys.version.split()[0])
        for d in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix, os.path.dirname(os.path.realpath(sys.executable))}:
            print(os.path.realpath(d))
        """;
}
