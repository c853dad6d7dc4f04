package io.rewardkit.data;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/** One chat message (OpenAI style). Extra fields (e.g. reasoning_content) go to the template as-is. */
public record ChatMessage(String role, String content, Map<String, Object> extra) {
  public ChatMessage {
    Objects.requireNonNull(role, "role");
    Objects.requireNonNull(content, "content");
    extra = extra == null ? Map.of() : Map.copyOf(extra);
  }

  public ChatMessage(String role, String content) { this(role, content, Map.of()); }

  public static ChatMessage user(String content) { return new ChatMessage("user", content); }
  public static ChatMessage assistant(String content) { return new ChatMessage("assistant", content); }
  public static ChatMessage system(String content) { return new ChatMessage("system", content); }

  /** The message as the template sees it: role, content, then any extra fields. */
  public Map<String, Object> toTemplateMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("role", role);
    m.put("content", content);
    m.putAll(extra);
    return m;
  }
}
