// Opening what a user names with -m: a model file, or (for tokenizer-only commands) a GGUF
// vocabulary or a SentencePiece tokenizer.model.
#pragma once

#include "tokenizer/tokenizer.h"

#include <memory>
#include <string>

namespace smoe {

// True when the file starts with the GGUF magic.
bool is_gguf_file(const std::string& path);

// A tokenizer from a GGUF file (model or vocabulary only) or a tokenizer.model file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

}  // namespace smoe
