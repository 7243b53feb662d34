namespace SharpLM.Evaluation.CodeExecution;

/// <summary>The fixed Python code the sandbox runs around (never inside) generated programs.</summary>
internal static class PythonScripts
{
    /// <summary>
    /// Runs program.py after limiting resources and applying the guard. Arguments: program path, memory bytes,
    /// file-size bytes, process headroom, 1 to disable sockets. Passed with -c so it is not a file the program
    /// could edit, and it compiles the program before disabling os.getcwd (which os.path.abspath needs).
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
                         '_exit', 'abort'):  # beyond human-eval: os._exit(0) before the tests would otherwise pass
                if hasattr(os, name):
                    setattr(os, name, disabled('os.' + name))
            for name in ('rmtree', 'move', 'chown'):
                setattr(shutil, name, disabled('shutil.' + name))
            subprocess.Popen = disabled('subprocess.Popen')
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

        main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == '1')
        """;

    /// <summary>
    /// Reports, under a candidate isolation, what it actually gives: network interfaces (a fresh network namespace
    /// has only lo), whether / is mounted read-only, the effective capabilities, and whether RLIMIT_NPROC stops a fork.
    /// </summary>
    public const string Probe = """
        import os, resource, socket
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

    /// <summary>The interpreter's real path (not a pyenv shim or PATH name) and version.</summary>
    public const string Identify = "import sys; print(sys.executable); print(sys.version.split()[0])";
}
