/**
 * Repeats every failed test's message after the whole lab run. The labs print long checklists and
 * timings between a failure and the end of the output, and CI keeps only the output's head and
 * tail: without this, a red lab in CI said which file failed but not which check (stop 30).
 */
class FailureSummaryReporter {
  onRunComplete(_contexts, results) {
    const failed = results.testResults.flatMap((file) => [
      ...file.testResults.filter((t) => t.status === "failed").map((t) => ({ where: `${file.testFilePath} › ${t.fullName}`, messages: t.failureMessages })),
      // A file that failed outside its tests (a hook, a syntax error) has no failed test of its own.
      ...(file.testExecError ? [{ where: file.testFilePath, messages: [file.testExecError.message] }] : []),
    ]);
    // A test that passed on a retry (jest.retryTimes): its earlier failures, which a green run would hide.
    const retried = results.testResults.flatMap((file) =>
      file.testResults.filter((t) => t.status === "passed" && (t.retryReasons ?? []).length > 0).map((t) => ({ where: `${file.testFilePath} › ${t.fullName}`, messages: t.retryReasons })),
    );
    if (failed.length === 0 && retried.length === 0) return;
    const plain = (text) => text.replace(/\u001b\[[0-9;]*m/g, "");
    const lines = [""];
    const section = (heading, mark, tests) => {
      if (tests.length === 0) return;
      lines.push(heading);
      for (const { where, messages } of tests) {
        lines.push(`${mark} ${where.replace(`${process.cwd()}/`, "")}`);
        for (const message of messages) {
          // The message's own lines (the checks that failed, with their details), not the stack.
          const body = plain(message).split("\n").filter((l) => !/^\s+at /.test(l));
          lines.push(...body.slice(0, 60).map((l) => `    ${l}`), ...(body.length > 60 ? [`    … ${body.length - 60} more lines`] : []));
        }
      }
    };
    section(`lab: ${failed.length} failed; their messages again, for a log that keeps only its end:`, "✕", failed);
    section(`lab: ${retried.length} passed only on a retry; what failed before it:`, "↻", retried);
    process.stderr.write(`${lines.join("\n")}\n`);
  }
}

module.exports = FailureSummaryReporter;
