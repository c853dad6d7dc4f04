package io.rewardkit.config;

import com.fasterxml.jackson.core.JsonProcessingException;

/** Parser errors as users read them: the first line of the message, no source excerpt or internals. */
public final class JsonErrors {
  private JsonErrors() {}

  /** "line N: message" for a parser error, the plain message for other I/O errors. */
  public static String describe(java.io.IOException e) {
    if (e instanceof JsonProcessingException j) {
      return (j.getLocation() == null ? "" : "line " + j.getLocation().getLineNr() + ": ") + "not valid JSON: " + message(j);
    }
    return e.getMessage();
  }

  public static String message(JsonProcessingException e) {
    String s = e.getOriginalMessage();
    if (s == null) return "syntax error";
    String l = s.strip().split("\\R", 2)[0].replaceAll("\\s*at \\[Source:.*$", "");
    // Jackson names Java types in some messages ("Cannot deserialize value of type `int`"): keep the gist.
    return l.replaceAll("`[a-z]+\\.[\\w.$]+`", "").replaceAll("\\s+", " ").trim();
  }
}
