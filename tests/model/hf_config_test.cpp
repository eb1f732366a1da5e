// config.json read into ModelConfig (config_from_hf): what a hostile or broken file gives is one
// smoe::Error line, never a crash or a JSON library exception.
#include "core/error.h"
#include "model/config.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

namespace smoe {
namespace {

nlohmann::json mixtral_config() {
  return nlohmann::json::parse(R"({"architectures": ["MixtralForCausalLM"], "hidden_size": 64,
      "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2})");
}

// The message of the smoe::Error that config_from_hf throws ("" when it accepts the config).
std::string error_of(const nlohmann::json& config) {
  try {
    config_from_hf(config, "config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(HfConfig, ReadsAMixtralConfig) {
  const ModelConfig c = config_from_hf(mixtral_config(), "config.json");
  EXPECT_EQ(c.dim, 64);
  EXPECT_EQ(c.head_dim, 16);
  EXPECT_EQ(c.n_expert, 8);
  EXPECT_EQ(c.n_expert_used, 2);
}

// Found in review while writing fuzz_hf_config: _name_or_path was read with value(), which throws
// nlohmann's type_error for a value that is not a string. It is only a display name: ignored.
TEST(HfConfig, NonStringNameIsIgnored) {
  nlohmann::json config = mixtral_config();
  config["_name_or_path"] = 42;
  EXPECT_EQ(config_from_hf(config, "config.json").name, "");
  config["_name_or_path"] = "org/model";
  EXPECT_EQ(config_from_hf(config, "config.json").name, "org/model");
}

// Found in review while writing fuzz_hf_config: the message dump()ed the value, and dump
// recurses, so a hidden_act of a million nested lists overflowed the stack.
TEST(HfConfig, DeeplyNestedHiddenActIsAnError) {
  nlohmann::json config = mixtral_config();
  const size_t depth = 1000000;
  config["hidden_act"] = nlohmann::json::parse(std::string(depth, '[') + std::string(depth, ']'));
  EXPECT_NE(error_of(config).find("hidden_act of type array is not supported"), std::string::npos);
  config["hidden_act"] = "gelu";
  EXPECT_NE(error_of(config).find("hidden_act 'gelu' is not supported"), std::string::npos);
}

}  // namespace
}  // namespace smoe
