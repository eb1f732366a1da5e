// `smoe gen-model`: write a random-weight model with a real model's shapes, in any type.
#include "cli/commands.h"
#include "convert/model_generator.h"
#include "convert/progress.h"

#include <cstdio>
#include <memory>

namespace smoe::cli {

Command add_gen_model_command(CLI::App& root) {
  auto o = std::make_shared<GenerateModelOptions>();
  CLI::App* sub = root.add_subcommand("gen-model", "Write a random-weight model with real shapes (for benchmarks)");
  sub->add_option("--preset", o->preset, "mixtral-8x7b, mixtral-8x22b or mistral-7b")->required();
  sub->add_option("--layers", o->layers, "Fewer layers than the real model (default: all)")->check(CLI::PositiveNumber);
  sub->add_option("--type", o->type, "Weight type or mix (Q4_K_M, Q8_0, F16, ...)")->capture_default_str();
  sub->add_option("-o,--output", o->output, "Output GGUF file")->required();
  sub->add_option("--tokenizer", o->tokenizer, "tokenizer.model to embed (default: the bundled one, else synthetic)");
  sub->add_option("--seed", o->seed, "Random seed")->capture_default_str();
  return {sub, [o]() {
            const GenerateModelReport r = generate_model(*o);
            std::printf("wrote %s: %s, %lld tensors, %.2fB parameters, in %.1f s\n", o->output.c_str(),
                        format_bytes(r.bytes).c_str(), static_cast<long long>(r.tensors), r.parameters / 1e9, r.seconds);
            return 0;
          }};
}

}  // namespace smoe::cli
