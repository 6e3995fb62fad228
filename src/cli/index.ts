// cli/: the qmpkit and qmp-shell binaries: argv parsing, one file per subcommand, the shell line parser,
// completer, REPL and output rendering. May import anything; nothing imports it.
export {};
