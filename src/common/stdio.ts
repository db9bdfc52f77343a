/**
 * A command whose output goes into a closed pipe (`ctsyncd -e | head`) ends quietly, as a C
 * program killed by SIGPIPE does, instead of dying on an unhandled EPIPE.
 */
export function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(0);
      throw e;
    });
  }
}
