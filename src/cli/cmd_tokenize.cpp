// `smoe tokenize` and `smoe detokenize`: the tokenizer alone, from a GGUF or tokenizer.model.
#include "cli/commands.h"
#include "runtime/default_model.h"
#include "core/error.h"
#include "runtime/model_files.h"

#include <cstdio>
#include <memory>

namespace smoe::cli {

Command add_tokenize_command(CLI::App& root) {
  struct Options {
    std::string model, prompt, file;
    bool no_bos = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = root.add_subcommand("tokenize", "Print the token ids of a text as a JSON array");
  sub->add_option("-m,--model", o->model, "GGUF model or vocabulary, or a SentencePiece tokenizer.model (default: the bundled model)");
  auto* p = sub->add_option("-p,--prompt", o->prompt, "Text to tokenize");
  auto* f = sub->add_option("-f,--file", o->file, "Read the text from a file");
  p->excludes(f);
  sub->add_flag("--no-bos", o->no_bos, "Do not prepend the beginning-of-sequence token");
  return {sub, [o, p, f]() {
            if (p->count() == 0 && f->count() == 0) fail("give the text with -p TEXT or -f FILE");
            auto tok = load_tokenizer(resolve_model_path(o->model));
            const std::string text = f->count() ? read_text_file(o->file) : o->prompt;
            const auto ids = tok->encode(text, !o->no_bos && tok->vocab().add_bos);
            std::string out = "[";
            for (size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + std::to_string(ids[i]);
            out += "]\n";
            std::fwrite(out.data(), 1, out.size(), stdout);
            return 0;
          }};
}

Command add_detokenize_command(CLI::App& root) {
  struct Options {
    std::string model, ids;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = root.add_subcommand("detokenize", "Print the text of a list of token ids");
  sub->add_option("-m,--model", o->model, "GGUF model or vocabulary, or a SentencePiece tokenizer.model (default: the bundled model)");
  sub->add_option("--ids", o->ids, "Token ids, comma-separated")->required();
  return {sub, [o]() {
            auto tok = load_tokenizer(resolve_model_path(o->model));
            const auto ids = parse_id_list(o->ids);
            for (int32_t id : ids)
              if (!tok->is_valid(id)) fail("token id {} is outside the vocabulary (0..{})", id, tok->vocab().size() - 1);
            const std::string text = tok->decode(ids);
            std::fwrite(text.data(), 1, text.size(), stdout);
            std::fputc('\n', stdout);
            return 0;
          }};
}

}  // namespace smoe::cli
