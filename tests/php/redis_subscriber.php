<?php
// A shop's status listener: SUBSCRIBEs to the channel topup PUBLISHes results to and counts
// them (php-redis).   php redis_subscriber.php HOST PORT CHANNEL COUNT TIMEOUT_S
// Prints "received N" once COUNT results arrived, each a JSON object with a client_ref and a
// final status, and exits 0; prints what it received and exits 1 when TIMEOUT_S pass
// without a message first.
[$_, $host, $port, $channel, $wanted, $timeout] = $argv;
$redis = new Redis();
$redis->connect($host, (int)$port, 5.0);
$redis->setOption(Redis::OPT_READ_TIMEOUT, (float)$timeout);
$received = 0;
try {
    $redis->subscribe([$channel], function ($redis, $chan, $message) use (&$received, $wanted) {
        $result = json_decode($message, true);
        if (!is_array($result) || !isset($result['client_ref'])
            || !in_array($result['status'] ?? '', ['succeeded', 'failed'], true)) {
            fwrite(STDERR, "not a result: $message\n");
            exit(1);
        }
        if (++$received >= (int)$wanted) {
            echo "received $received\n";
            exit(0);
        }
    });
} catch (RedisException $timeout) {
}
echo "received $received\n";
exit(1);
