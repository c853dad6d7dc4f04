package io.rewardkit.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.rewardkit.RewardKitException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Qwen3 chat template rendered by jinjava must match the reference Jinja2 renderer exactly.
 * Case 1 is the reference string of PLATFORM-NOTES.md; cases 2-5 were rendered with Python
 * Jinja2 3.1.6 configured as transformers does (trim_blocks, lstrip_blocks, tojson = json.dumps
 * with ensure_ascii=False).
 */
class ChatTemplateTest {

  private static ChatTemplate qwen3;

  private static synchronized ChatTemplate qwen3() throws Exception {
    Path dir = DataTestSupport.qwen3Dir();
    if (qwen3 == null) {
      try (HfTokenizer tok = HfTokenizer.load(dir)) {
        assertTrue(Files.readString(dir.resolve("tokenizer_config.json")).contains("chat_template"));
        qwen3 = ChatTemplate.of(tok);
      }
    }
    return qwen3;
  }

  @Test
  void qwen3MatchesPlatformNotesReference() throws Exception {
    ChatTemplate t = qwen3();
    String out = t.render(List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi"), ChatMessage.assistant("Hello!")), false);
    assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        + "<think>\n\n</think>\n\nHello!<|im_end|>\n", out);
    assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
        t.render(List.of(ChatMessage.system("Be brief."), ChatMessage.user("Hi")), true));
  }

  @Test
  void qwen3MultiTurnThinkingStrippedFromEarlierTurns() throws Exception {
    String out = qwen3().render(List.of(ChatMessage.user("Q1"), ChatMessage.assistant("<think>\nr1\n</think>\n\nA1"),
        ChatMessage.user("Q2 ünïcode \"quoted\""), ChatMessage.assistant("A2\n")), false);
    assertEquals("<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n<|im_start|>user\nQ2 ünïcode \"quoted\""
        + "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nA2\n<|im_end|>\n", out);
  }

  @Test
  void qwen3ReasoningContentAndToolResponseTurns() throws Exception {
    String out = qwen3().render(List.of(ChatMessage.user("Q1"),
        new ChatMessage("assistant", "A1", Map.of("reasoning_content", "because")),
        ChatMessage.user("<tool_response>x</tool_response>"), ChatMessage.assistant("fin")), false);
    assertEquals("<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\n<think>\nbecause\n</think>\n\nA1<|im_end|>\n"
        + "<|im_start|>user\n<tool_response>x</tool_response><|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nfin<|im_end|>\n", out);
  }

  @Test
  void qwen3ToolsTurnsAndToJson() throws Exception {
    Map<String, Object> args = new java.util.LinkedHashMap<>();
    args.put("a", 1);
    args.put("b", "x\ny");
    Map<String, Object> call = Map.of("function", Map.of("name", "f", "arguments", args));
    String out = qwen3().render(List.of(ChatMessage.user("  spaced  "), ChatMessage.assistant("\n\nlead"),
        new ChatMessage("tool", "t1"), new ChatMessage("tool", "t2"),
        new ChatMessage("assistant", "done", Map.of("tool_calls", List.of(call)))), true);
    assertEquals("<|im_start|>user\n  spaced  <|im_end|>\n<|im_start|>assistant\n\n\nlead<|im_end|>\n<|im_start|>user\n"
        + "<tool_response>\nt1\n</tool_response>\n<tool_response>\nt2\n</tool_response><|im_end|>\n<|im_start|>assistant\n"
        + "<think>\n\n</think>\n\ndone\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1, \"b\": \"x\\ny\"}}\n</tool_call>"
        + "<|im_end|>\n<|im_start|>assistant\n", out);
  }

  @Test
  void rewritesOnlyTouchCodeInsideTags() {
    assertEquals("{% for m in (messages|reverse) %}", ChatTemplate.rewrite("{% for m in messages[::-1] %}"));
    assertEquals("{{ '[::-1]' }} text [::-1]", ChatTemplate.rewrite("{{ '[::-1]' }} text [::-1]"));
    assertEquals("{% set ns = namespace(a=(true), b=(x|length - 1)) %}",
        ChatTemplate.rewrite("{% set ns = namespace(a=true, b=x|length - 1) %}"));
    assertEquals("{{ a == b }}", ChatTemplate.rewrite("{{ a == b }}"));
    assertEquals("{{ f(x, 'k=v') }}", ChatTemplate.rewrite("{{ f(x, 'k=v') }}"));
  }

  @Test
  void pythonStringMethodsAndRaiseException() {
    ChatTemplate t = new ChatTemplate("{%- for m in messages %}[{{ m.content.strip() }}|{{ m.content.lstrip(' x') }}|"
        + "{{ m.content.split(',')[1] }}|{{ m.content.startswith(' x') }}|{{ m.content.upper() }}]{% endfor %}", null, null);
    assertEquals("[x,y|,y |y |true| X,Y ]", t.render(List.of(ChatMessage.user(" x,y ")), false));
    ChatTemplate raising = new ChatTemplate("{{ raise_exception('roles must alternate') }}", null, null);
    RewardKitException e = assertThrows(RewardKitException.class, () -> raising.render(List.of(ChatMessage.user("a")), false));
    assertTrue(e.getMessage().contains("roles must alternate"), e.getMessage());
  }

  @Test
  void toJsonFollowsPythonJsonDumps() {
    Map<String, Object> m = new java.util.LinkedHashMap<>();
    m.put("a", java.util.Arrays.asList(1, 2.5, true, null));
    m.put("b", "é\n\u0001");
    assertEquals("{\"a\": [1, 2.5, true, null], \"b\": \"é\\n\\u0001\"}", ChatTemplate.dumps(m, null));
    assertEquals("[\n  1,\n  {\n    \"k\": 2.0\n  }\n]", ChatTemplate.dumps(List.of(1, Map.of("k", 2.0)), 2));
  }

  @Test
  void absentSharedFixturesSkipInsteadOfFailing() {
    String old = System.getProperty("rewardkit.shared");
    try {
      System.setProperty("rewardkit.shared", "/nonexistent/rewardkit-shared");
      assertThrows(org.opentest4j.TestAbortedException.class, DataTestSupport::qwen3Dir);
      assertThrows(org.opentest4j.TestAbortedException.class, DataTestSupport::hhPairs);
    } finally {
      if (old == null) System.clearProperty("rewardkit.shared");
      else System.setProperty("rewardkit.shared", old);
    }
  }

  @Test
  void unknownMethodIsAnErrorNotEmptyOutput() {
    ChatTemplate t = new ChatTemplate("{{ messages[0].content.nosuchmethod() }}", null, null);
    assertThrows(RewardKitException.class, () -> t.render(List.of(ChatMessage.user("a")), false));
  }
}
