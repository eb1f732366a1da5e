// smoe: command-line entry point. Dispatches to the subcommands; every user-facing failure is one
// "error: ..." line on stderr and exit status 1.
#include "cli/commands.h"
#include "core/error.h"

#include <cstdio>
#include <exception>
#include <vector>

int main(int argc, char** argv) {
  CLI::App app{"smoe: fast, exact inference for Mixtral-family mixture-of-experts models", "smoe"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Help for every command");
  const std::vector<smoe::cli::Command> commands = {
      smoe::cli::add_run_command(app),      smoe::cli::add_logits_command(app),
      smoe::cli::add_tokenize_command(app), smoe::cli::add_detokenize_command(app),
      smoe::cli::add_info_command(app),     smoe::cli::add_chat_command(app),
      smoe::cli::add_chat_tokenize_command(app), smoe::cli::add_perplexity_command(app),
      smoe::cli::add_routes_command(app),       smoe::cli::add_bench_command(app),
      smoe::cli::add_gen_model_command(app),
      smoe::cli::add_convert_command(app),     smoe::cli::add_serve_command(app),
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Usage errors exit with 2 (as getopt-style tools do); --help exits with 0.
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    for (const auto& command : commands)
      if (command.app->parsed()) return command.action();
  } catch (const smoe::Error& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  return 1;
}
