package io.rewardkit.data;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import io.rewardkit.RewardKitException;
import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * A Hugging Face chat template rendered with jinjava, made to behave like transformers' Jinja2
 * environment (trim_blocks, lstrip_blocks, `{{-` trimming, Python string methods, tojson as
 * json.dumps, raise_exception). Two Python spellings jinjava cannot parse are rewritten inside
 * tags before parsing: {@code x[::-1]} becomes {@code (x|reverse)} and keyword arguments of calls
 * are parenthesised ({@code namespace(a=n|length - 1)} becomes {@code namespace(a=(n|length - 1))},
 * which jinjava otherwise parses as {@code (a=n|length) - 1}).
 */
public final class ChatTemplate {
  private final String source;
  private final String compiled;
  private final Jinjava jinjava;
  private final String bosToken;
  private final String eosToken;
  private final ThreadLocal<Node> parsed;

  public ChatTemplate(String source, String bosToken, String eosToken) {
    if (source == null || source.isBlank()) throw new RewardKitException("chat template is empty");
    this.source = source;
    this.compiled = rewrite(source);
    this.bosToken = bosToken == null ? "" : bosToken;
    this.eosToken = eosToken == null ? "" : eosToken;
    CompositeELResolver resolver = new CompositeELResolver();
    resolver.add(new PyStringMethods());
    resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
    LegacyOverrides modern = LegacyOverrides.newBuilder()
        .withUseTrimmingForNotesAndExpressions(true)
        .withParseWhitespaceControlStrictly(true)
        .withUseNaturalOperatorPrecedence(true)
        .withKeepNullableLoopValues(true)
        .withUsePyishObjectMapper(true)
        .withEvaluateMapKeys(true)
        .build();
    JinjavaConfig config = JinjavaConfig.newBuilder()
        .withTrimBlocks(true)
        .withLstripBlocks(true)
        .withLegacyOverrides(modern)
        .withElResolver(resolver)
        .withFailOnUnknownTokens(false)
        .build();
    this.jinjava = new Jinjava(config);
    this.parsed = ThreadLocal.withInitial(() -> {
      JinjavaInterpreter interp = new JinjavaInterpreter(jinjava, jinjava.getGlobalContextCopy(), jinjava.getGlobalConfig());
      JinjavaInterpreter.pushCurrent(interp);
      try {
        Node n = interp.parse(compiled);
        for (TemplateError e : interp.getErrors()) {
          if (e.getSeverity() != TemplateError.ErrorType.WARNING) {
            throw new RewardKitException("chat template does not parse (line " + e.getLineno() + "): " + e.getMessage());
          }
        }
        return n;
      } finally {
        JinjavaInterpreter.popCurrent();
      }
    });
    jinjava.registerFilter(new ToJson());
    try {
      jinjava.registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class, "raiseException", String.class));
    } catch (RuntimeException e) {
      throw new IllegalStateException("cannot register raise_exception", e);
    }
  }

  /** The template a tokenizer ships (tokenizer_config.json or chat_template.jinja), or null if none. */
  public static ChatTemplate of(Tokenizer tok) {
    String t = tok.chatTemplate();
    return t == null ? null : new ChatTemplate(t, tok.bosToken(), tok.eosToken());
  }

  public String source() { return source; }

  public String hash() { return Sha256.of(source); }

  /** Renders messages; throws {@link RewardKitException} with jinjava's first error on any error. */
  public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
    Map<String, Object> ctx = new HashMap<>();
    List<Map<String, Object>> msgs = new ArrayList<>(messages.size());
    for (ChatMessage m : messages) msgs.add(m.toTemplateMap());
    ctx.put("messages", msgs);
    ctx.put("add_generation_prompt", addGenerationPrompt);
    ctx.put("bos_token", bosToken);
    ctx.put("eos_token", eosToken);
    // Parse once per thread (jinjava re-parses on every renderForResult; that dominated the cost).
    Context context = new Context(jinjava.getGlobalContext(), ctx);
    JinjavaInterpreter interp = new JinjavaInterpreter(jinjava, context, jinjava.getGlobalConfig());
    JinjavaInterpreter.pushCurrent(interp);
    RAISED.remove();
    String out;
    try {
      Node root = parsed.get();
      out = interp.render(root, false);
    } finally {
      JinjavaInterpreter.popCurrent();
    }
    String raised = RAISED.get();
    RAISED.remove();
    if (raised != null) throw new RewardKitException("chat template raised an exception: " + raised);
    for (TemplateError e : interp.getErrors()) {
      if (e.getSeverity() != TemplateError.ErrorType.WARNING) {
        throw new RewardKitException("chat template error (line " + e.getLineno() + "): " + e.getMessage());
      }
    }
    return out;
  }

  /** raise_exception(msg) from HF templates: aborts the render with the template's message. */
  public static String raiseException(String message) {
    RAISED.set(message); // jinjava wraps exceptions from functions and drops their message
    throw new RewardKitException("chat template raised: " + message);
  }

  private static final ThreadLocal<String> RAISED = new ThreadLocal<>();

  // ---- source rewrites (only inside {{ }} and {% %}) ----

  private static final Pattern REVERSE_SLICE = Pattern.compile("([A-Za-z_][\\w.]*(?:\\[[^\\[\\]]*\\])*)\\[\\s*:\\s*:\\s*-1\\s*\\]");

  static String rewrite(String src) {
    StringBuilder out = new StringBuilder(src.length() + 64);
    int i = 0;
    while (i < src.length()) {
      int open = nextOpen(src, i);
      if (open < 0) {
        out.append(src, i, src.length());
        break;
      }
      out.append(src, i, open);
      char kind = src.charAt(open + 1);
      if (kind == '#') {
        int close = src.indexOf("#}", open + 2);
        int end = close < 0 ? src.length() : close + 2;
        out.append(src, open, end);
        i = end;
        continue;
      }
      String closer = kind == '{' ? "}}" : "%}";
      int close = findClose(src, open + 2, closer);
      if (close < 0) {
        out.append(src, open, src.length());
        break;
      }
      String body = src.substring(open + 2, close);
      out.append(src, open, open + 2).append(rewriteExpression(body)).append(closer);
      i = close + 2;
    }
    return out.toString();
  }

  private static int nextOpen(String s, int from) {
    for (int i = s.indexOf('{', from); i >= 0 && i + 1 < s.length(); i = s.indexOf('{', i + 1)) {
      char c = s.charAt(i + 1);
      if (c == '{' || c == '%' || c == '#') return i;
    }
    return -1;
  }

  /** Index of the closer, skipping string literals. */
  private static int findClose(String s, int from, String closer) {
    char quote = 0;
    for (int i = from; i < s.length() - 1; i++) {
      char c = s.charAt(i);
      if (quote != 0) {
        if (c == '\\') i++;
        else if (c == quote) quote = 0;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == closer.charAt(0) && s.charAt(i + 1) == closer.charAt(1)) {
        return i;
      }
    }
    return -1;
  }

  static String rewriteExpression(String body) {
    // Slices first (outside strings only: split the body into code and string parts).
    StringBuilder sliced = new StringBuilder(body.length());
    forEachCodePart(body, (part, isString) -> {
      if (isString) sliced.append(part);
      else {
        Matcher m = REVERSE_SLICE.matcher(part);
        sliced.append(m.replaceAll("($1|reverse)"));
      }
    });
    return parenthesiseKeywordArgs(sliced.toString());
  }

  private interface PartConsumer { void accept(String part, boolean isString); }

  private static void forEachCodePart(String s, PartConsumer c) {
    int start = 0;
    int i = 0;
    while (i < s.length()) {
      char ch = s.charAt(i);
      if (ch == '\'' || ch == '"') {
        if (i > start) c.accept(s.substring(start, i), false);
        int j = i + 1;
        while (j < s.length() && s.charAt(j) != ch) j += s.charAt(j) == '\\' ? 2 : 1;
        j = Math.min(j + 1, s.length());
        c.accept(s.substring(i, j), true);
        start = i = j;
      } else {
        i++;
      }
    }
    if (start < s.length()) c.accept(s.substring(start), false);
  }

  private static final Pattern KEYWORD = Pattern.compile("\\s*[A-Za-z_]\\w*\\s*=(?!=)");

  /** Wraps each keyword argument value of a call in parentheses. */
  static String parenthesiseKeywordArgs(String s) {
    StringBuilder out = new StringBuilder(s.length() + 16);
    // Stack of open brackets; for call parens, whether the current argument was wrapped.
    char[] kind = new char[s.length() + 1];
    boolean[] wrapped = new boolean[s.length() + 1];
    int depth = 0;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\'' || c == '"') {
        int j = i + 1;
        while (j < s.length() && s.charAt(j) != c) j += s.charAt(j) == '\\' ? 2 : 1;
        j = Math.min(j + 1, s.length());
        out.append(s, i, j);
        i = j - 1;
        continue;
      }
      if (c == '(' || c == '[' || c == '{') {
        boolean call = c == '(' && isCallParen(s, i);
        kind[depth] = call ? 'c' : c;
        wrapped[depth] = false;
        depth++;
        out.append(c);
        if (call) i = startArgument(s, i + 1, out, wrapped, depth - 1) - 1;
        continue;
      }
      if (c == ')' || c == ']' || c == '}') {
        if (depth > 0) {
          depth--;
          if (kind[depth] == 'c' && wrapped[depth]) out.append(')');
        }
        out.append(c);
        continue;
      }
      if (c == ',' && depth > 0 && kind[depth - 1] == 'c') {
        if (wrapped[depth - 1]) out.append(')');
        wrapped[depth - 1] = false;
        out.append(c);
        i = startArgument(s, i + 1, out, wrapped, depth - 1) - 1;
        continue;
      }
      out.append(c);
    }
    return out.toString();
  }

  /** At the start of a call argument: copies "name=" and opens a parenthesis if it is a keyword arg. */
  private static int startArgument(String s, int from, StringBuilder out, boolean[] wrapped, int level) {
    Matcher m = KEYWORD.matcher(s);
    m.region(from, s.length());
    if (m.lookingAt()) {
      out.append(s, from, m.end()).append('(');
      wrapped[level] = true;
      return m.end();
    }
    return from;
  }

  private static boolean isCallParen(String s, int i) {
    int j = i - 1;
    while (j >= 0 && s.charAt(j) == ' ') j--;
    if (j < 0) return false;
    char p = s.charAt(j);
    if (!(Character.isLetterOrDigit(p) || p == '_')) return false;
    // Operators spelled as words are not function names.
    int k = j;
    while (k >= 0 && (Character.isLetterOrDigit(s.charAt(k)) || s.charAt(k) == '_')) k--;
    String word = s.substring(k + 1, j + 1);
    return !List.of("in", "not", "and", "or", "if", "else", "is").contains(word);
  }

  // ---- Python string methods on Java strings ----

  /** startswith/endswith/strip/lstrip/rstrip/split/upper/lower/title/replace/... for template code. */
  static final class PyStringMethods extends ELResolver {
    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] types, Object[] params) {
      if (!(base instanceof CharSequence cs) || method == null) return null;
      String s = cs.toString();
      Object[] p = params == null ? new Object[0] : params;
      Object r;
      switch (method.toString()) {
        case "startswith" -> r = p.length >= 1 && matchesAny(p[0], s::startsWith);
        case "endswith" -> r = p.length >= 1 && matchesAny(p[0], s::endsWith);
        case "strip" -> r = rstrip(lstrip(s, chars(p)), chars(p));
        case "lstrip" -> r = lstrip(s, chars(p));
        case "rstrip" -> r = rstrip(s, chars(p));
        case "split" -> r = split(s, p);
        case "upper" -> r = s.toUpperCase(Locale.ROOT);
        case "lower" -> r = s.toLowerCase(Locale.ROOT);
        case "title" -> r = title(s);
        case "capitalize" -> r = s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1).toLowerCase(Locale.ROOT);
        case "replace" -> r = p.length >= 2 ? s.replace(String.valueOf(p[0]), String.valueOf(p[1])) : null;
        case "find" -> r = p.length >= 1 ? (long) s.indexOf(String.valueOf(p[0])) : null;
        case "count" -> r = p.length >= 1 ? (long) count(s, String.valueOf(p[0])) : null;
        default -> { return null; }
      }
      if (r == null) return null;
      context.setPropertyResolved(true);
      return r;
    }

    private static boolean matchesAny(Object arg, java.util.function.Predicate<String> test) {
      if (arg instanceof Collection<?> c) {
        for (Object o : c) if (test.test(String.valueOf(o))) return true;
        return false;
      }
      return test.test(String.valueOf(arg));
    }

    private static String chars(Object[] p) { return p.length == 0 || p[0] == null ? null : String.valueOf(p[0]); }

    private static boolean strippable(char c, String chars) {
      return chars == null ? Character.isWhitespace(c) : chars.indexOf(c) >= 0;
    }

    static String lstrip(String s, String chars) {
      int i = 0;
      while (i < s.length() && strippable(s.charAt(i), chars)) i++;
      return s.substring(i);
    }

    static String rstrip(String s, String chars) {
      int i = s.length();
      while (i > 0 && strippable(s.charAt(i - 1), chars)) i--;
      return s.substring(0, i);
    }

    private static List<String> split(String s, Object[] p) {
      List<String> out = new ArrayList<>();
      if (p.length == 0 || p[0] == null) {
        for (String part : s.trim().split("\\s+")) if (!part.isEmpty()) out.add(part);
        return out;
      }
      String sep = String.valueOf(p[0]);
      if (sep.isEmpty()) throw new RewardKitException("chat template: split() with an empty separator");
      long max = p.length >= 2 && p[1] instanceof Number n ? n.longValue() : -1;
      int from = 0;
      while (max < 0 || out.size() < max) {
        int at = s.indexOf(sep, from);
        if (at < 0) break;
        out.add(s.substring(from, at));
        from = at + sep.length();
      }
      out.add(s.substring(from));
      return out;
    }

    private static int count(String s, String sub) {
      if (sub.isEmpty()) return s.length() + 1;
      int n = 0;
      for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) n++;
      return n;
    }

    private static String title(String s) {
      StringBuilder sb = new StringBuilder(s.length());
      boolean prevLetter = false;
      for (char c : s.toCharArray()) {
        sb.append(prevLetter ? Character.toLowerCase(c) : Character.toUpperCase(c));
        prevLetter = Character.isLetter(c);
      }
      return sb.toString();
    }

    @Override public Object getValue(ELContext c, Object b, Object p) { return null; }
    @Override public Class<?> getType(ELContext c, Object b, Object p) { return null; }
    @Override public void setValue(ELContext c, Object b, Object p, Object v) {}
    @Override public boolean isReadOnly(ELContext c, Object b, Object p) { return true; }
    @Override public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext c, Object b) { return null; }
    @Override public Class<?> getCommonPropertyType(ELContext c, Object b) { return null; }
  }

  // ---- tojson as transformers defines it: json.dumps(x, ensure_ascii=False, indent=indent) ----

  static final class ToJson implements Filter {
    @Override public String getName() { return "tojson"; }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      Integer indent = args.length > 0 && args[0] != null ? Integer.valueOf(args[0]) : null;
      return dumps(var, indent);
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
      Object ind = kwargs.containsKey("indent") ? kwargs.get("indent") : args.length > 0 ? args[0] : null;
      return dumps(var, ind == null ? null : ((Number) (ind instanceof Number ? ind : Long.valueOf(ind.toString()))).intValue());
    }
  }

  /** Python json.dumps with ensure_ascii=False: ", " / ": " separators, or indent with "," / ": ". */
  static String dumps(Object v, Integer indent) {
    StringBuilder sb = new StringBuilder();
    dump(v, indent, 0, sb);
    return sb.toString();
  }

  private static void dump(Object v, Integer indent, int level, StringBuilder sb) {
    if (v == null) {
      sb.append("null");
    } else if (v instanceof Boolean b) {
      sb.append(b ? "true" : "false");
    } else if (v instanceof Double || v instanceof Float) {
      double d = ((Number) v).doubleValue();
      if (Double.isNaN(d)) sb.append("NaN");
      else if (Double.isInfinite(d)) sb.append(d > 0 ? "Infinity" : "-Infinity");
      else if (d == Math.rint(d) && Math.abs(d) < 1e16) sb.append((long) d).append(".0");
      else sb.append(Double.toString(d));
    } else if (v instanceof Number n) {
      sb.append(n.toString());
    } else if (v instanceof Map<?, ?> m) {
      if (m.isEmpty()) { sb.append("{}"); return; }
      sb.append('{');
      boolean first = true;
      for (Map.Entry<?, ?> e : m.entrySet()) {
        if (!first) sb.append(indent == null ? ", " : ",");
        first = false;
        newline(indent, level + 1, sb);
        quote(String.valueOf(e.getKey()), sb);
        sb.append(": ");
        dump(e.getValue(), indent, level + 1, sb);
      }
      newline(indent, level, sb);
      sb.append('}');
    } else if (v instanceof Collection<?> c) {
      if (c.isEmpty()) { sb.append("[]"); return; }
      sb.append('[');
      boolean first = true;
      for (Object o : c) {
        if (!first) sb.append(indent == null ? ", " : ",");
        first = false;
        newline(indent, level + 1, sb);
        dump(o, indent, level + 1, sb);
      }
      newline(indent, level, sb);
      sb.append(']');
    } else if (v instanceof Object[] arr) {
      dump(java.util.Arrays.asList(arr), indent, level, sb);
    } else {
      quote(v.toString(), sb);
    }
  }

  private static void newline(Integer indent, int level, StringBuilder sb) {
    if (indent == null) return;
    sb.append('\n');
    sb.append(" ".repeat(indent * level));
  }

  private static void quote(String s, StringBuilder sb) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        case '\b' -> sb.append("\\b");
        case '\f' -> sb.append("\\f");
        default -> {
          if (c < 0x20) sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
          else sb.append(c);
        }
      }
    }
    sb.append('"');
  }
}
