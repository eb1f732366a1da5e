// Recognizes model and tokenizer files by content, not by name.
#include "runtime/model_files.h"

#include "core/error.h"
#include "formats/gguf.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace smoe {

bool is_gguf_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  char magic[4] = {};
  return f.read(magic, 4) && std::memcmp(magic, "GGUF", 4) == 0;
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) fail("'{}' does not exist", path);
  if (std::filesystem::is_directory(path, ec)) {
    const std::string sp = path + "/tokenizer.model";
    if (!std::filesystem::exists(sp, ec)) fail("'{}' is a directory without a tokenizer.model", path);
    return std::make_unique<Tokenizer>(load_vocab_from_sentencepiece(sp));
  }
  if (is_gguf_file(path)) return std::make_unique<Tokenizer>(load_vocab_from_gguf(GgufFile::open(path)));
  return std::make_unique<Tokenizer>(load_vocab_from_sentencepiece(path));
}

}  // namespace smoe
