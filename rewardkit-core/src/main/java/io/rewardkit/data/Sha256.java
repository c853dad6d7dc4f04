package io.rewardkit.data;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/** SHA-256 helpers for the cache manifest (tokenizer, template and input hashes). */
final class Sha256 {
  private Sha256() {}

  static MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK has no SHA-256", e);
    }
  }

  static String hex(byte[] digest) {
    StringBuilder sb = new StringBuilder(digest.length * 2);
    for (byte x : digest) sb.append(Character.forDigit((x >> 4) & 0xf, 16)).append(Character.forDigit(x & 0xf, 16));
    return sb.toString();
  }

  static String of(String s) { return hex(newDigest().digest(s.getBytes(StandardCharsets.UTF_8))); }
  static String of(byte[] b) { return hex(newDigest().digest(b)); }

  /** Of a file's bytes, streamed. */
  static String ofFile(java.nio.file.Path p) {
    MessageDigest d = newDigest();
    byte[] buf = new byte[1 << 16];
    try (java.io.InputStream in = java.nio.file.Files.newInputStream(p)) {
      for (int n; (n = in.read(buf)) > 0; ) d.update(buf, 0, n);
    } catch (java.io.IOException e) {
      throw new io.rewardkit.RewardKitException("cannot read " + p + ": " + e.getMessage(), e);
    }
    return hex(d.digest());
  }
}
