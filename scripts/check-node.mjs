// Runs before `npm start` and `npm test`, on whatever Node this is (so: plain JavaScript): the project runs its
// TypeScript sources directly, which needs Node 24 (type stripping); an older Node fails with
// ERR_UNKNOWN_FILE_EXTENSION ".ts", which says nothing of the cause.
const REQUIRED = 24;
const major = Number(process.versions.node.split('.')[0]);
if (major < REQUIRED) {
  const prefix = '$HOME/.cache/realtime-chat/node24';
  console.error(
    [
      `This project needs Node ${REQUIRED} or later; this is Node ${process.versions.node}.`,
      'Install it with your version manager (nvm install 24, fnm use 24, …), or beside the system one from the',
      "npm registry's node package, as .ci/run does:",
      '',
      `  npm install --global --prefix ${prefix} node@${REQUIRED}`,
      `  export PATH="${prefix}/bin:$PATH"`,
      '',
      'then run npm ci again.',
    ].join('\n'),
  );
  process.exit(1);
}
