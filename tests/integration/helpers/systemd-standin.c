/* systemd-standin.c — answers, on a private bus, the one question secretd
 * asks a service manager: a unit's MainPID (CI has no systemd as pid 1).
 *
 *   systemd-standin UNIT PIDFILE
 *
 * Connects to DBUS_SYSTEM_BUS_ADDRESS, owns org.freedesktop.systemd1 and
 * serves org.freedesktop.systemd1.Service.MainPID on UNIT's object path
 * (/org/freedesktop/systemd1/unit/<UNIT, bus-escaped>, as systemd does),
 * reading the pid from PIDFILE at each Get so a test can change it; 0 when
 * the file is empty or missing.  Prints "ready" once the name is owned;
 * SIGTERM ends it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>

static const char *pid_file;

static int get_main_pid(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        unsigned pid = 0;
        FILE *f = fopen(pid_file, "re");

        (void) bus, (void) path, (void) interface, (void) property, (void) userdata, (void) error;
        if (f) {
                if (fscanf(f, "%u", &pid) != 1)
                        pid = 0;
                fclose(f);
        }
        return sd_bus_message_append(reply, "u", (uint32_t) pid);
}

static const sd_bus_vtable service_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("MainPID", "u", get_main_pid, 0, 0),
        SD_BUS_VTABLE_END,
};

int main(int argc, char **argv) {
        sd_bus *bus = NULL;
        char *path = NULL;
        int r;

        if (argc != 3) {
                fprintf(stderr, "usage: systemd-standin UNIT PIDFILE\n");
                return 2;
        }
        pid_file = argv[2];
        r = sd_bus_open_system(&bus);
        if (r >= 0)
                r = sd_bus_path_encode("/org/freedesktop/systemd1/unit", argv[1], &path);
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus, NULL, path, "org.freedesktop.systemd1.Service", service_vtable, NULL);
        if (r >= 0)
                r = sd_bus_request_name(bus, "org.freedesktop.systemd1", 0);
        if (r < 0) {
                fprintf(stderr, "systemd-standin: %s\n", strerror(-r));
                return 1;
        }
        printf("ready\n");
        fflush(stdout);
        for (;;) {
                r = sd_bus_process(bus, NULL);
                if (r < 0)
                        break;
                if (r == 0 && sd_bus_wait(bus, UINT64_MAX) < 0)
                        break;
        }
        free(path);
        sd_bus_flush_close_unref(bus);
        return 1;
}
