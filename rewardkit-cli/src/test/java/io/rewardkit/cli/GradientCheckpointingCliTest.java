package io.rewardkit.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.rewardkit.train.Checkpoints;
import io.rewardkit.train.MetricsLog;
import io.rewardkit.report.MetricsRecords;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** train --gradient_checkpointing: the same run, byte for byte, and it may be switched on --resume. */
class GradientCheckpointingCliTest {
  @TempDir Path tmp;

  private String[] args(Path out, String... extra) throws Exception {
    Path cfg = tmp.resolve("tiny.json");
    if (!Files.exists(cfg)) {
      Files.writeString(cfg, "{\"model_type\": \"qwen3\", \"hidden_size\": 32, \"intermediate_size\": 48, \"num_hidden_layers\": 3, "
          + "\"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"head_dim\": 8, \"vocab_size\": 264, \"max_position_embeddings\": 64}");
      List<String> lines = new ArrayList<>();
      for (int i = 0; i < 24; i++) {
        lines.add("{\"prompt\": \"copy " + i + "\", \"chosen\": \"copy " + i + "\", \"rejected\": \"cpy " + (i * 7 % 13) + "\"}");
      }
      Files.write(tmp.resolve("pairs.jsonl"), lines, StandardCharsets.UTF_8);
    }
    List<String> a = new ArrayList<>(List.of("train", "--init_config", cfg.toString(), "--tokenizer", "byte",
        "--dataset", tmp.resolve("pairs.jsonl").toString(), "--max_length", "48", "--max_tokens_per_batch", "256",
        "--learning_rate", "1e-2", "--max_steps", "4", "--logging_steps", "1", "--save_steps", "2", "--report", "false",
        "--output_dir", out.toString()));
    a.addAll(List.of(extra));
    return a.toArray(String[]::new);
  }

  private static List<Map<String, Object>> trainRecords(Path run) throws Exception {
    return MetricsRecords.ofKind(MetricsRecords.withoutWallClock(MetricsLog.read(run.resolve("metrics.jsonl"))), "train");
  }

  @Test
  void checkpointedRunIsByteIdenticalAndSwitchableOnResume() throws Exception {
    Path a = tmp.resolve("a"), b = tmp.resolve("b"), c = tmp.resolve("c");
    RunIntegrityCliTest.Run ra = RunIntegrityCliTest.cli(args(a));
    assertEquals(0, ra.rc(), ra.err());
    RunIntegrityCliTest.Run rb = RunIntegrityCliTest.cli(args(b, "--gradient_checkpointing"));
    assertEquals(0, rb.rc(), rb.err());
    assertTrue(rb.out().contains("memory plan (cpu, full + ckpt, 256 tokens/batch)"), rb.out());
    byte[] model = Files.readAllBytes(a.resolve("final/model.safetensors"));
    assertArrayEquals(model, Files.readAllBytes(b.resolve("final/model.safetensors")), "final weights");
    assertArrayEquals(Files.readAllBytes(a.resolve("checkpoint-4/optimizer.safetensors")),
        Files.readAllBytes(b.resolve("checkpoint-4/optimizer.safetensors")), "optimizer state");
    List<Map<String, Object>> trainA = trainRecords(a);
    assertEquals(4, trainA.size());
    assertEquals(trainA, trainRecords(b), "loss, accuracy, grad_norm of every step");

    // checkpointed until a crash after step 3, resumed without it: the same run again
    RunIntegrityCliTest.Run crashed = RunIntegrityCliTest.crashingAfter(3, args(c, "--gradient_checkpointing"));
    assertEquals(1, crashed.rc());
    assertEquals(List.of(2L), Checkpoints.list(c).stream().map(Checkpoints::stepOf).toList());
    RunIntegrityCliTest.Run rc = RunIntegrityCliTest.cli("train", "--resume", "--output_dir", c.toString(), "--gradient_checkpointing", "false");
    assertEquals(0, rc.rc(), rc.err());
    assertArrayEquals(model, Files.readAllBytes(c.resolve("final/model.safetensors")), "resumed final weights");
    assertEquals(trainA, trainRecords(c));
  }
}
