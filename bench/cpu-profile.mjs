// Preloaded into ctsyncd by `npm run bench -- --profile` (NODE_OPTIONS=--import): samples the
// JS thread with V8's profiler from start to exit and writes $CTSYNC_BENCH_PROFILE_DIR/<pid>.cpuprofile
// (Node 20 does not take --cpu-prof from NODE_OPTIONS). The bench keeps the daemons' files.
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

const dir = process.env.CTSYNC_BENCH_PROFILE_DIR;
// only the daemon itself (`ctsyncd -C FILE`, as `-d` re-executes it), not client requests
if (dir && process.argv.length === 4 && process.argv[2] === '-C') {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 250 });
  session.post('Profiler.start');
  // an in-thread session answers synchronously, so this completes inside the exit handler
  process.once('exit', () => {
    session.post('Profiler.stop', (err, res) => {
      if (!err) writeFileSync(`${dir}/${process.pid}.cpuprofile`, JSON.stringify(res.profile));
    });
  });
}
