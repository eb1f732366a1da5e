// `smoe convert SRC -o OUT.gguf [--type T] [-t THREADS]`: a Hugging Face checkpoint or a GGUF
// file to a GGUF file in another type (see src/convert/type_policy.h for the types).
#include "cli/commands.h"
#include "convert/convert.h"
#include "convert/type_policy.h"

#include <cstdio>
#include <memory>

namespace smoe::cli {

Command add_convert_command(CLI::App& root) {
  auto o = std::make_shared<ConvertOptions>();
  std::string types;
  for (std::string_view n : quant_mix_names()) types += (types.empty() ? "" : ", ") + std::string(n);
  CLI::App* sub = root.add_subcommand("convert", "Convert a Hugging Face checkpoint or a GGUF file to GGUF");
  sub->add_option("source", o->source, "Source: a Hugging Face checkpoint directory or a GGUF file")->required();
  sub->add_option("-o,--output", o->output, "The GGUF file to write")->required();
  sub->add_option("--type", o->type,
                  "Output type: " + types +
                      " (default: the source's F32/F16/BF16 precision; Q3_K, Q4_K, Q5_K are the _S mixes)");
  sub->add_option("-t,--threads", o->threads, "Threads (default: physical cores)")->check(CLI::NonNegativeNumber);
  return {sub, [o]() {
            const ConvertReport report = convert_model(*o);
            std::printf("%s\n", summarize(*o, report).c_str());
            return 0;
          }};
}

}  // namespace smoe::cli
